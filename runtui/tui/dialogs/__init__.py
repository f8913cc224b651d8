"""Modal dialogs: new run, reject reason, rewind."""
