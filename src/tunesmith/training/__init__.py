"""Training: the LightningModule, callbacks, optimisers and the Trainer for a run directory."""
