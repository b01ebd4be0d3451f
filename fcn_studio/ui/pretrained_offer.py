"""The offer a new project gets: a pretrained model whose classes are exactly the project's (VOC's 21),
else, when no ImageNet encoder is on this machine, the encoder for a new model with the project's own
classes. Never blocks: a non-modal note; Not Now keeps the default model, "Don't ask again" is
remembered in the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from fcn_studio.model.catalogue import Catalogue, Entry, size_text
from fcn_studio.model.install import CONVERTERS

if TYPE_CHECKING:
    from fcn_studio.project.project import Project
    from fcn_studio.ui.pretrained_jobs import PretrainedJobs

DONT_ASK_KEY = "pretrained/dont_offer"


def matching_model(catalogue: Catalogue, names: list[str]) -> Entry | None:
    """The best-reported usable model whose label set is exactly `names`, in order."""
    matches = [e for e in catalogue.entries if e.classes and e.format in CONVERTERS
               and [c["name"] for c in e.classes] == list(names)]
    return max(matches, key=lambda e: float(e.accuracy[0].get("value", 0)) if e.accuracy else 0.0, default=None)


def encoder_to_offer(catalogue: Catalogue) -> Entry | None:
    """The encoder of the backbone a new project's default model is made on, when its ImageNet weights
    are not on this machine (otherwise the default model is pretrained already)."""
    from fcn_studio.model.factory import default_backbone  # noqa: PLC0415 (torch)
    from fcn_studio.model.pretrained import imagenet_weights_file  # noqa: PLC0415

    backbone = default_backbone()
    if imagenet_weights_file(backbone) is not None:
        return None
    return next((e for e in catalogue.entries if e.format == "state-dict" and e.backbone == backbone), None)


class OfferDialog(QDialog):
    def __init__(self, entry: Entry, text: str, ready: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.setWindowTitle("A pretrained model for this project")
        self.setModal(False)
        label = QLabel(text)
        label.setWordWrap(True)
        self.dont_ask = QCheckBox("Don't ask again")
        self.accept_button = QPushButton("Use It" if ready else "Download and Use")
        self.not_now = QPushButton("Not Now")
        buttons = QHBoxLayout()
        buttons.addWidget(self.dont_ask)
        buttons.addStretch(1)
        buttons.addWidget(self.not_now)
        buttons.addWidget(self.accept_button)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addLayout(buttons)
        self.accept_button.setDefault(True)
        self.accept_button.clicked.connect(self.accept)
        self.not_now.clicked.connect(self.reject)
        self.resize(520, 160)


def offer_for(jobs: PretrainedJobs, project: Project) -> OfferDialog | None:
    """Shows the offer for a new project when there is one to make; returns it (None: nothing offered)."""
    settings = jobs.w.settings
    if str(settings.value(DONT_ASK_KEY, "false")).lower() == "true":
        return None
    catalogue = jobs.catalogue()
    if catalogue is None:
        return None
    entry = matching_model(catalogue, project.labels.names)
    if entry is not None:
        text = (f"This project's {len(project.labels)} classes are those of {entry.name} ({entry.arch} "
                f"{entry.backbone}, {entry.accuracy[0].get('value')} {entry.accuracy[0].get('metric')} on "
                f"{entry.accuracy[0].get('dataset')}). " if entry.accuracy else
                f"This project's classes are those of {entry.name}. ")
        text += "Use it instead of the default model, which starts untrained?"
    else:
        entry = encoder_to_offer(catalogue)
        if entry is None:
            return None
        text = (f"No ImageNet encoder is on this machine, so the default model starts from random weights and "
                f"needs many more corrections. Get the ImageNet {entry.backbone} encoder ({entry.name}, "
                f"{size_text(entry)}, {entry.licence or 'licence not stated'}) and make a new model with this "
                f"project's {len(project.labels)} classes?")
    ready = jobs.usable(entry) is None
    text += "" if ready else f" It downloads in the background ({size_text(entry)}); you can keep working."
    dialog = OfferDialog(entry, text, ready, jobs.w)

    def answered(accepted: bool) -> None:
        if dialog.dont_ask.isChecked():
            settings.setValue(DONT_ASK_KEY, True)
        if accepted:
            jobs.download(entry, use_for=project)
        else:
            jobs.say(f"Not now: {project.name} keeps its default model; Model > Get Pretrained Model... has "
                     f"{entry.name} whenever you want it.")

    dialog.accepted.connect(lambda: answered(True))
    dialog.rejected.connect(lambda: answered(False))
    dialog.show()
    return dialog
