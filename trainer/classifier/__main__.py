"""`python -m interplay.trainer.classifier ...`: the same command as `interplay train classifier`."""

from .cli import classifier_command

if __name__ == "__main__":
    classifier_command(prog_name="python -m interplay.trainer.classifier")
