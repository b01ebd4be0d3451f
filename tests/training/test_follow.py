"""--follow: images a person corrects while training runs join the next epoch."""

from fcn_studio.core.mask_io import read_mask
from fcn_studio.project.project import Project
from fcn_studio.training.config import TrainConfig
from fcn_studio.training.events import EventWriter
from fcn_studio.training.trainer import run
from tests.training.conftest import EASY, write_easy_voc


def test_new_corrections_join_the_next_epoch(tmp_path):
    voc = write_easy_voc(tmp_path / "voc", count=10)
    project = Project.create(tmp_path / "p", EASY)
    project.add_images([voc / "JPEGImages"])
    recs = project.images()
    truth = {r.id: read_mask(voc / "SegmentationClass" / r.name) for r in recs}
    for rec in recs[:5]:
        project.save_mask(rec.id, truth[rec.id])

    def correct_more(event: dict) -> None:  # the annotator goes on while the model trains
        if event["event"] == "validation" and event["epoch"] == 1:
            for rec in recs[5:]:
                project.save_mask(rec.id, truth[rec.id])

    events = EventWriter()
    seen = []
    events.listeners += [seen.append, correct_more]
    cfg = TrainConfig(source=tmp_path / "p", out=tmp_path / "p" / "models" / "m.safetensors", backbone="resnet18",
                      weights=None, crop=48, batch_size=4, lr=0.01, epochs=3, device="cpu", follow=True)
    run(cfg, events)
    project.close()
    validations = [e for e in seen if e["event"] == "validation"]
    first, last = validations[0], validations[-1]
    assert first["train_images"] + first["val_images"] <= 5 * 2  # 5 labelled (few: all train and validate)
    assert last["train_images"] + last["val_images"] > first["train_images"] + first["val_images"]
    assert last["train_images"] >= 6
