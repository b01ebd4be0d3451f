from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from fcn_studio.core.labels import LabelSet
from fcn_studio.model.factory import default_backbone
from fcn_studio.ui.dialogs.forms import LabelEditor, NewModelDialog


def test_label_editor_add_rename_recolour_reorder_delete(qtbot):
    editor = LabelEditor(LabelSet(("bg", "cat", "dog", "car")))
    qtbot.addWidget(editor)
    editor.list.setCurrentRow(1)
    editor.delete(target="dog")  # cat's pixels become dog
    editor.list.setCurrentRow(2)  # "car"
    editor.move(-1)  # car before dog
    editor.list.item(0).setText("background")
    editor.list.setCurrentRow(0)
    editor.recolour(QColor(1, 2, 3))
    editor.add("bus")
    labels = editor.result_labels()
    assert labels.names == ("background", "car", "dog", "bus")
    assert labels.colors[0] == (1, 2, 3)
    # old: 0 bg, 1 cat, 2 dog, 3 car -> new: 0 background, 1 car, 2 dog, 3 bus
    assert editor.mapping() == {1: 2, 3: 1}


def test_deleting_to_unlabelled_maps_to_ignore(qtbot):
    editor = LabelEditor(LabelSet(("bg", "cat", "dog")))
    qtbot.addWidget(editor)
    editor.list.setCurrentRow(1)
    editor.delete(target="unlabelled (ignore)")
    assert editor.result_labels().names == ("bg", "dog")
    assert editor.mapping() == {1: 255, 2: 1}


def test_new_model_dialog_offers_the_dilated_fcns_with_their_own_backbone(qtbot):
    dialog = NewModelDialog()
    qtbot.addWidget(dialog)
    archs = [dialog.arch.itemText(i) for i in range(dialog.arch.count())]
    assert archs[:3] == ["fcn8s", "fcn16s", "fcn32s"] and "fcn_resnet50" in archs and "fcn_resnet101" in archs
    assert dialog.chosen_backbone() == default_backbone()  # the one default rule, not a copy
    dialog.arch.setCurrentText("fcn_resnet50")
    assert not dialog.backbone.isEnabled() and dialog.chosen_backbone() is None
    assert "not FCN-8s" in dialog.arch.itemData(archs.index("fcn_resnet50"), Qt.ItemDataRole.ToolTipRole)
    dialog.arch.setCurrentText("fcn16s")
    assert dialog.chosen_backbone() == default_backbone()  # the one default rule, not a copy
