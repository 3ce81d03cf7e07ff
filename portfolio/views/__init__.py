"""Server-rendered pages of the portfolio app, one module per area."""
