"""Reading the image field of a user's document (`catalogue.image_location`) and image sources."""

import pytest

from elastichash.catalogue import image_location
from elastichash.errors import ImageError
from elastichash.sources import ImageReader


def test_the_image_field_may_be_dotted_or_a_one_value_list() -> None:
    assert image_location({"photo": "a.jpg"}, "photo") == "a.jpg"
    assert image_location({"media": {"photo": ["b.jpg"]}}, "media.photo") == "b.jpg"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ({}, "no `photo` field"),
        ({"photo": None}, "not a path or URL: None"),
        ({"photo": 42}, "not a path or URL: 42"),
        ({"photo": " "}, "not a path or URL: ' '"),
        ({"photo": ["a.jpg", "b.jpg"]}, "holds 2 values, not one"),
        ({"photo": {"url": "a.jpg"}}, "not a path or URL"),
    ],
)
def test_a_field_without_one_location_is_named(source: dict, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        image_location(source, "photo")


def test_relative_paths_start_at_the_base_folder_and_other_schemes_are_refused(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "x.png").write_bytes(b"data")
    assert ImageReader(base_dir=tmp_path).read("x.png") == b"data"
    with pytest.raises(ImageError, match="only file paths and http"):
        ImageReader().read("file:///etc/passwd")
    with pytest.raises(ImageError, match="cannot fetch it"):
        ImageReader(timeout=2, connect_timeout=1).read("http://127.0.0.1:9/x.png")
    with pytest.raises(ValueError, match="positive"):
        ImageReader(max_bytes=0)
