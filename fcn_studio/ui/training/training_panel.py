"""The training panel: start with sensible defaults (an advanced section for the rest), stop, a
progress bar with ETA, live plots of loss and validation mean IU (pyqtgraph), and per-class IU
after each validation."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fcn_studio.core.splits import measured_on
from fcn_studio.model_choices import BACKBONES
from fcn_studio.ui.panels.status import format_eta
from fcn_studio.ui.training.keep_learning_box import KeepLearningBox


def scrolling(panel: QWidget) -> QScrollArea:
    """The panel in a scroll area, so its height (plots, keep learning) never sets the window's minimum."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(panel)
    return area


class Plot(pg.PlotWidget):
    """A plot that asks for a laptop's share of the panel (pyqtgraph asks for 480 px, which pushed the
    plot out of view at 1280 x 720); it still grows into room the panel has to spare. It leaves the
    wheel to the panel's scrolling."""

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(240, 130)

    def wheelEvent(self, event) -> None:  # noqa: N802
        """The wheel scrolls the panel: it zoomed the plot under the pointer instead (the loss plot went
        to -10..10 while a person scrolled down), and the plots follow their data by themselves."""
        event.ignore()


class TrainingPanel(QWidget):
    start_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start = QPushButton("Start training")
        self.stop = QPushButton("Stop")
        self.stop.setEnabled(False)
        self.start.clicked.connect(self.start_requested)
        self.stop.clicked.connect(self.stop_requested)
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.5, 24 * 60)
        self.minutes.setValue(3.0)
        self.minutes.setSuffix(" min")
        self.follow = QCheckBox("New corrections join the run")
        self.follow.setChecked(True)
        self.auto_swap = QCheckBox("Use the new model when it is better")
        self.auto_swap.setChecked(True)
        self.recipe = QComboBox()
        self.recipe.addItems(["interactive", "paper", "paper-at-once"])
        self.backbone = QComboBox()
        self.backbone.addItem("the current model", None)
        for b in BACKBONES:
            self.backbone.addItem(f"new {b}", b)
        self.batch = QSpinBox()
        self.batch.setRange(0, 256)
        self.batch.setSpecialValueText("recipe's")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(0, 1)
        self.lr.setSingleStep(1e-4)
        self.lr.setSpecialValueText("recipe's")
        advanced = QGroupBox("Advanced")
        advanced.setCheckable(True)
        advanced.setChecked(False)
        form = QFormLayout(advanced)
        form.addRow("Recipe", self.recipe)
        form.addRow("Start from", self.backbone)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        self.advanced = advanced

        self.keep = KeepLearningBox()

        self.hint = QLabel()  # the project's state (ui/training/training_hint.py), apart from the run's status
        self.hint.setWordWrap(True)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        pg.setConfigOptions(antialias=True)
        self.loss_plot = Plot(title="training loss")
        self.iu_plot = Plot(title="validation mean IU")
        self.iu_plot.setYRange(0, 1)
        for plot in (self.loss_plot, self.iu_plot):
            plot.setMinimumHeight(110)
            plot.setMinimumWidth(200)
            plot.setLabel("bottom", "iteration")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#e6194b", width=1.5))
        self.iu_curve = self.iu_plot.plot(pen=pg.mkPen("#3cb44b", width=2), symbol="o", symbolSize=5)
        self.per_class = QTableWidget(0, 2)
        self.per_class.setHorizontalHeaderLabels(["class", "IU"])
        self.per_class.horizontalHeader().setStretchLastSection(True)
        self.per_class.verticalHeader().hide()
        self.per_class.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        buttons = QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.stop)
        top = QFormLayout()
        top.addRow("Train for", self.minutes)
        # At 1280 x 720 Start, the progress and the loss plot are in view without scrolling: what a
        # person reads while it learns comes first, the settings seldom changed and the history after.
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)  # first: what the project is ready for
        layout.addWidget(self.keep)
        layout.addLayout(buttons)
        layout.addLayout(top)
        layout.addWidget(self.follow)
        layout.addWidget(self.auto_swap)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.iu_plot)
        layout.addWidget(advanced)
        layout.addWidget(self.keep.versions)
        layout.addWidget(self.per_class)
        self._loss: tuple[list[float], list[float]] = ([], [])
        self._iu: tuple[list[float], list[float]] = ([], [])

    def set_running(self, running: bool) -> None:
        self.start.setEnabled(not running)
        self.stop.setEnabled(running)

    def reset(self) -> None:
        self._loss, self._iu = ([], []), ([], [])
        self.loss_curve.setData([], [])
        self.iu_curve.setData([], [])
        self.per_class.setRowCount(0)
        self.progress.setValue(0)

    def show_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "started":
            # per mille of the run (iterations or the clock, whichever ends it); busy for a run with no end
            self.progress.setRange(0, 0 if event.get("total_iterations") is None else 1000)
            self.status.setText(f"{event['arch']} on {event['backbone']} ({event['recipe']}), {event['device']}: "
                                f"{event['train_images']} training images, validated on "
                                + measured_on(event["val_images"], event.get("val_regions", 0)))
        elif kind == "progress":
            if "fraction" in event:
                self.progress.setValue(int(1000 * event["fraction"]))
            self._loss[0].append(event["iteration"])
            self._loss[1].append(event["loss"])
            self.loss_curve.setData(*self._loss)
            self.status.setText(f"iteration {event['iteration']}, loss {event['loss']:.3f}, "
                                f"{event['images_per_s']:.1f} images/s, " + (
                                    "learning until stopped" if event["eta_s"] is None
                                    else f"{format_eta(event['eta_s'])} left"))
        elif kind == "validation":
            if event["mean_iu"] is not None:
                self._iu[0].append(event["iteration"])
                self._iu[1].append(event["mean_iu"])
                self.iu_curve.setData(*self._iu)
            rows = list(event["per_class_iu"].items())
            self.per_class.setRowCount(len(rows))
            for r, (name, iu) in enumerate(rows):
                self.per_class.setItem(r, 0, QTableWidgetItem(name))
                item = QTableWidgetItem("n/a" if iu is None else f"{iu:.3f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.per_class.setItem(r, 1, item)

    def arguments(self) -> list[str]:
        """Command-line arguments for the backend from what the panel shows."""
        args = ["--time-limit", str(int(self.minutes.value() * 60)), "--iterations", "1000000"]
        if self.follow.isChecked():
            args.append("--follow")
        if self.advanced.isChecked():
            args += ["--recipe", self.recipe.currentText()]
            if self.batch.value():
                args += ["--batch-size", str(self.batch.value())]
            if self.lr.value():
                args += ["--lr", str(self.lr.value())]
        return args

    def new_backbone(self) -> str | None:
        return self.backbone.currentData() if self.advanced.isChecked() else None
