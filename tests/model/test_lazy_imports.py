"""Start-up: loading a VGG16 checkpoint and predicting never imports torchvision, whose package import
(its whole model zoo, datasets and ops) costs about a second before the first mask, nor torch._dynamo,
which torch imports (0.7 s) as soon as a random fill or arange runs on the meta device."""

import subprocess
import sys

from fcn_studio.model.checkpoint import save_checkpoint
from fcn_studio.model.factory import new_model


def test_a_vgg16_checkpoint_predicts_without_importing_torchvision_or_dynamo(tmp_path):
    model, info, _ = new_model("fcn8s", "vgg16", None, weights=None, fc_channels=16)
    path = tmp_path / "vgg.safetensors"
    save_checkpoint(path, model, info)
    code = (
        "import sys, numpy as np\n"
        "from fcn_studio.inference.predictor import Predictor\n"
        f"p, _ = Predictor.from_checkpoint({str(path)!r}, device='cpu')\n"
        "p.predict(np.zeros((40, 50, 3), np.uint8))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torchvision' or m == 'torch._dynamo'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
