"""Stalled pilots and the weekly digest that reports them (docs/architecture.md,
"Stalled pilots" and "The weekly digest").

``models`` holds their tables, ``services`` the stall rule, detection and the decision,
``digest`` what a digest says and its delivery, ``selectors`` the reads of their pages,
``views`` and ``api`` the pages and endpoints.
"""
