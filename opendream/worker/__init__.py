"""worker layer (see DESIGN.md)."""
