"""The control plane: what a person reviews and confirms before data moves (mapping proposals, ...)."""
