"""The Textual terminal UI. It talks to a `RuntimeClient` only (embedded or, later, remote);
nothing outside this package imports Textual."""
