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
    from fcn_studio.ui.models.pretrained_jobs import PretrainedJobs

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


def offer_for(jobs: PretrainedJobs, project: Project) -> None:
    """Works out off the GUI thread (asking for cached weights imports torchvision) whether there is an
    offer to make, then shows it as `jobs.offer` if the project is still the open one."""
    settings = jobs.shell.settings
    if str(settings.value(DONT_ASK_KEY, "false")).lower() == "true":
        return
    catalogue = jobs.catalogue()
    if catalogue is None:
        return
    names = list(project.labels.names)

    def choose() -> tuple[Entry, str] | None:
        entry = matching_model(catalogue, names)
        if entry is not None:
            best = entry.accuracy[0] if entry.accuracy else None
            reported = (f" ({entry.arch} {entry.backbone}, {best.get('value')} {best.get('metric')} on "
                        f"{best.get('dataset')})" if best else "")
            return entry, (f"This project's {len(names)} classes are those of {entry.name}{reported}. Use it "
                           f"instead of the default model, which starts untrained?")
        entry = encoder_to_offer(catalogue)
        if entry is None:
            return None
        return entry, (f"No ImageNet encoder is on this machine, so the default model starts from random "
                       f"weights and needs many more corrections. Get the ImageNet {entry.backbone} encoder "
                       f"({entry.name}, {size_text(entry)}, {entry.licence or 'licence not stated'}) and make a "
                       f"new model with this project's {len(names)} classes?")

    def show(chosen: tuple[Entry, str] | None) -> None:
        if chosen is not None and project is jobs.workspace.project and not project.closed:
            jobs.offer = _show(jobs, project, *chosen)

    jobs.shell.background(choose, show, lambda message, details: None)  # no offer is no loss


def _show(jobs: PretrainedJobs, project: Project, entry: Entry, text: str) -> OfferDialog:
    ready = jobs.usable(entry) is None
    text += "" if ready else f" It downloads in the background ({size_text(entry)}); you can keep working."
    dialog = OfferDialog(entry, text, ready, jobs.shell.parent)

    def answered(accepted: bool) -> None:
        if dialog.dont_ask.isChecked():
            jobs.shell.settings.setValue(DONT_ASK_KEY, True)
        if accepted:
            jobs.download(entry, use_for=project)
        else:
            jobs.say(f"Not now: {project.name} keeps its default model; Model > Get Pretrained Model... has "
                     f"{entry.name} whenever you want it.")

    dialog.accepted.connect(lambda: answered(True))
    dialog.rejected.connect(lambda: answered(False))
    dialog.show()
    return dialog
