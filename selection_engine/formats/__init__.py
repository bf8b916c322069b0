"""File formats users bring or receive: parsed and validated at the edge, written atomically."""
