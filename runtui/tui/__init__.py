"""The Textual terminal UI. It talks to a runtime through the port (`runtui.api.Port`) only,
embedded or remote; nothing outside this package imports Textual."""
