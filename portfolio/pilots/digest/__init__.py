"""The weekly digest: ``content`` builds what each recipient reads, ``delivery`` claims
and sends it exactly once per recipient per ISO week."""
