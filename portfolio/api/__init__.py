"""The REST API v1: DRF views over the same services and selectors as
the browser, so the gate, segregation of duties, versioning and validation hold here too."""
