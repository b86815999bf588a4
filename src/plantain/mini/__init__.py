"""The built-in mini model and the small, fully specified world it draws (see docs/mini-model.md)."""
