"""A test plugin that calls ``sys.exit(3)`` while it is imported (as a careless script
turned into a plugin might): NeuralFX must report it and go on, not end with 3."""

import sys

sys.exit(3)
