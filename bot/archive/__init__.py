"""Reading archive material: saved pages, JSON Lines, question ids."""
