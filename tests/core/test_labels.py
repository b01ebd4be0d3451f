import pytest

from fcn_studio.core.labels import VOC_COLORMAP, LabelSet


def test_voc_palette_matches_pascal_voc():
    assert VOC_COLORMAP[0] == (0, 0, 0)
    assert VOC_COLORMAP[1] == (128, 0, 0)
    assert VOC_COLORMAP[15] == (192, 128, 128)  # person
    assert VOC_COLORMAP[255] == (224, 224, 192)  # the "ignore" border colour
    voc = LabelSet.voc()
    assert len(voc) == 21 and voc.names[15] == "person" and voc.ignore_index == 255


def test_label_files_in_the_forms_people_write(tmp_path):
    plain = tmp_path / "names.txt"
    plain.write_text("# my classes\nbackground\nroad\nsky\n")
    assert LabelSet.from_file(plain).names == ("background", "road", "sky")
    cvat = tmp_path / "labelmap.txt"
    cvat.write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:10,20,30::\n")
    ls = LabelSet.from_file(cvat)
    assert ls.names == ("background", "car") and ls.colors[1] == (10, 20, 30)
    rgb = tmp_path / "rgb.txt"
    rgb.write_text("bg 0 0 0\nold tree 1 2 3\n")
    assert LabelSet.from_file(rgb).names == ("bg", "old tree")


def test_round_trip_through_dict():
    ls = LabelSet(("a", "b"), ((1, 2, 3), (4, 5, 6)))
    assert LabelSet.from_dict(ls.to_dict()) == ls


@pytest.mark.parametrize("names", [(), ("a", "a"), ("a", "")])
def test_bad_label_sets_are_refused(names):
    with pytest.raises(ValueError):
        LabelSet(names)


def test_bad_label_file_names_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a\nb:1,2::\n")
    with pytest.raises(ValueError, match="bad.txt"):
        LabelSet.from_file(bad)
