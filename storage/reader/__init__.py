"""A reader for digest documents in layers: containers → blocks → entries → fields → papers."""
