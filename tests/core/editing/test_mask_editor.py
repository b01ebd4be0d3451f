"""The mask editor's undo: one operation is one step, even when undo arrives mid-operation."""

import numpy as np

from fcn_studio.core.editing.mask_editor import MaskEditor


def test_undo_during_a_stroke_takes_back_that_stroke_not_an_older_step():
    from fcn_studio.core.editing.tools import Stroke

    editor = MaskEditor(np.full((64, 64), 255, np.uint8))
    first = Stroke(editor, 1, 5)
    first.to(5, 5)
    first.finish()  # an earlier step on the stack, in the same tile
    stroke = Stroke(editor, 2, 5)
    stroke.to(30, 30)
    stroke.to(40, 30)  # Ctrl+Z arrives while the mouse is still down
    editor.undo()
    assert editor.mask[30, 35] == 255 and editor.mask[5, 5] == 1  # the open stroke went; the first stayed


def test_a_whole_image_fill_keeps_a_tiny_history_and_undoes_exactly():
    from fcn_studio.core.editing.tools import flood_fill
    from fcn_studio.core.editing.undo import UndoBudget

    mask = np.full((2000, 3000), 255, np.uint8)
    mask[512:522, :] = 4  # a wall on a tile edge: everything above it is filled
    before = mask.copy()
    editor = MaskEditor(mask, UndoBudget())
    flood_fill(editor, 5, 5, 1)
    filled = mask.copy()
    assert (mask[:512] == 1).all() and (mask[522:] == 255).all()
    edit = editor.stack.done[-1]
    assert len(edit.tiles) == 4 * 24 and edit.nbytes < 10_000  # values, not 2 x 96 tiles of 16 KB
    editor.undo()
    assert np.array_equal(mask, before)
    editor.redo()
    assert np.array_equal(mask, filled)
