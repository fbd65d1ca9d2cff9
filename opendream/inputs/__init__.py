"""inputs layer (see DESIGN.md)."""
