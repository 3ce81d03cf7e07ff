class DomainError(Exception):
    """A business rule refused the request; the message is shown to the user.

    ``field`` names the form/API field the refusal belongs to, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
