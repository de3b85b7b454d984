"""The names of the files a training run's folder holds.

Training writes them; evaluation, the server, the demo and the CLI find a run's model, state
and loss plot by them, so they live below all of those.
"""

MODEL_NAME = "model.safetensors"  # the EMA network and its config: what users ship
STATE_NAME = "train_state.safetensors"  # every network and optimizer: what --resume reads
METRICS_NAME = "metrics.jsonl"  # one JSON line of losses per logged step
LOSS_PLOT_NAME = "losses.png"
