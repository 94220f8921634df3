"""Table-top robot arm scenes and tasks."""
