"""A stand-in for the click lane's process (training.click_lane), for the workspace's tests: it
speaks the same events but decides its result at once instead of training for minutes. FAKE_CLICK_LANE:
"better" saves a version (a copy of the start model) and reports it better; "die" exits at once."""

import argparse
import os
import shutil
import sys
import threading
from pathlib import Path

from fcn_studio.training.events import EventWriter
from fcn_studio.training.stopping import watch_stdin

ap = argparse.ArgumentParser()
ap.add_argument("project", type=Path)
ap.add_argument("--start", type=Path)
ap.add_argument("--out", type=Path)
ap.add_argument("--first-version", type=int)
ap.add_argument("--follow", action="store_true")
ap.add_argument("--stop-on-stdin", action="store_true")
args = ap.parse_args()
if os.environ.get("FAKE_CLICK_LANE") == "die":
    print("fake lane: dying as asked", file=sys.stderr)
    sys.exit(3)
stop = threading.Event()
watch_stdin(stop)
events = EventWriter(sys.stdout)
args.out.mkdir(parents=True, exist_ok=True)
path = args.out / f"click-v{args.first_version}.safetensors"
shutil.copyfile(args.start, path)
events.emit("checkpoint", path=str(path), iteration=5, epoch=1, best=True, model="click", version=args.first_version,
            noc85=2.5, previous_noc85=4.0, val_objects=7, trained_objects=30)
stop.wait(60)
events.emit("finished", best_checkpoint="", best_mean_iu=None, iterations=5, seconds=1.0)
