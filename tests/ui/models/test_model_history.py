"""Model > Model History: a proper size, full names, the date, the images a model was trained on and its
validation mean IU, and rolling back to an older model."""

from datetime import datetime, timezone

from fcn_studio.core.sample_data import SAMPLE_LABELS
from fcn_studio.model.checkpoint import load_checkpoint, new_provenance, save_checkpoint
from fcn_studio.project.project import Project
from fcn_studio.ui.models.model_history import ModelHistoryDialog, history_rows


def test_history_shows_names_dates_images_and_scores_and_rolls_back(qtbot, window, tmp_path, tiny_checkpoint,
                                                                    photo_folder, monkeypatch):
    project = Project.create(tmp_path / "proj", SAMPLE_LABELS)
    project.add_images([photo_folder])
    project.record_model_run(tiny_checkpoint, {}, "default model")
    model, info = load_checkpoint(tiny_checkpoint)
    info.provenance = new_provenance("trained (fine-tune) on proj", trained_images=13, metrics={"mean_iu": 0.4242})
    trained = tmp_path / "proj" / "models" / "fcn8s_mobilenet_v3_small_run_2026-12-05_14-03-59_best.safetensors"
    save_checkpoint(trained, model, info)
    project.record_model_run(trained, {"mean_iu": 0.4321, "previous_mean_iu": None}, "better")
    project.set_model_path(trained)
    project.close()
    window.opening.open_paths([tmp_path / "proj"])
    qtbot.waitUntil(lambda: window.worker.predictor is not None, timeout=30_000)

    shown = []
    monkeypatch.setattr(ModelHistoryDialog, "exec", lambda d: shown.append(d) or d.choose(1) or d.result())
    window.actions["history"].trigger()  # the menu: rows read in the background, then the dialog
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    dialog = shown[0]
    table = dialog.table
    assert table.rowCount() == 2 and table.columnCount() == 5
    newest = [table.item(0, c).text() for c in range(5)]
    assert newest[0].startswith(trained.name) and "(in use)" in newest[0]
    assert newest[1].startswith("20") and ":" in newest[1]  # date and time
    assert newest[2] == "13 images" and newest[3] == "0.432"  # the score recorded when it was swapped in
    older = [table.item(1, c).text() for c in range(5)]
    assert older[0] == tiny_checkpoint.name and older[3] == "not scored"
    metrics = table.fontMetrics()
    assert table.columnWidth(0) >= metrics.horizontalAdvance(newest[0])  # the full name, not cut
    assert dialog.width() >= 720 and dialog.height() >= 300
    qtbot.waitUntil(lambda: window.status.model.text() == tiny_checkpoint.name, timeout=30_000)  # rolled back
    assert Project.open(tmp_path / "proj").model_path == tiny_checkpoint


def test_a_score_only_in_the_checkpoint_is_shown_and_a_missing_file_cannot_be_chosen(qtbot, tmp_path,
                                                                                     tiny_checkpoint):
    model, info = load_checkpoint(tiny_checkpoint)
    info.provenance = new_provenance("trained", trained_images=7, metrics={"mean_iu": 0.25})
    path = tmp_path / "scored.safetensors"
    save_checkpoint(path, model, info)
    runs = [{"id": 2, "created": "2026-12-05T14:03:59Z", "checkpoint": tmp_path / "gone.safetensors",
             "metrics": {}, "note": "deleted"},
            {"id": 1, "created": "2026-12-04T09:00:00Z", "checkpoint": path, "metrics": {}, "note": ""}]
    rows = history_rows(runs)
    assert rows[1].mean_iu == 0.25 and rows[1].trained_images == 7
    assert rows[1].made == datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
    dialog = ModelHistoryDialog(rows, None)
    qtbot.addWidget(dialog)
    assert "file missing" in dialog.table.item(0, 4).text()
    dialog.choose(0)
    assert dialog.chosen is None
    dialog.choose(1)
    assert dialog.chosen == path


def test_each_score_says_what_it_was_measured_on(qtbot, tmp_path):
    """Issue 19: "v9 0.76" above "v10 0.64" read as a regression; they were measured on different images."""
    def run(version, iu, whole, regions, pixels):
        return {"checkpoint": str(tmp_path / f"v{version}.safetensors"), "created": "2026-12-05T14:03:59Z",
                "metrics": {"mean_iu": iu, "keep_version": version, "val_images": whole, "val_regions": regions,
                            "val_pixels": pixels}, "note": f"keep learning v{version}"}

    dialog = ModelHistoryDialog(history_rows([run(10, 0.64, 2, 7, 61000), run(9, 0.76, 1, 4, 30500)]), None)
    qtbot.addWidget(dialog)
    assert [dialog.table.item(r, 3).text() for r in range(2)] == ["0.640 on 9 images", "0.760 on 5 images"]
    assert dialog.table.item(1, 3).toolTip() == ("0.760 on 5 images: measured on 1 whole image + held-out regions "
                                                 "of 4 images (30,500 pixels)")
