"""The one drawing path: enlargement of small images, tinted and named regions, the legend when
labels collide, text panels, pictures side by side."""
import numpy as np

from umg_mm.visualization import (Region, draw_regions, legend_entries, side_by_side,
                                  text_panel, upscale_factor)
from umg_mm.visualization.picture import ALPHA

RED, BLUE = (220, 20, 20), (20, 20, 220)


def halves(size=64):
    """A grey image whose left and right halves are two regions."""
    image = np.full((size, size, 3), 128, np.uint8)
    left = np.zeros((size, size), bool)
    left[:, :size // 2] = True
    return image, [Region('sky', RED, mask=left), Region('草地', BLUE, mask=~left)]


def test_upscale_factor():
    assert upscale_factor(64, 64) == 8
    assert upscale_factor(128, 96) == 4
    assert upscale_factor(100, 300) == 2
    assert upscale_factor(600, 800) == 1


def test_small_images_are_enlarged_and_tinted():
    image, regions = halves()
    picture = draw_regions(image, regions)
    assert picture.shape == (512, 512, 3)  # two labels fit: no legend
    expected = np.round((1 - ALPHA) * 128 + ALPHA * np.array(RED)).astype(np.uint8)
    # far from label and outline: the tint
    np.testing.assert_array_equal(picture[20, 20], expected)
    # the label sits on the region's most interior point, in white on the darker colour
    label = picture[240:272, 60:196]
    assert (label == (255, 255, 255)).all(axis=-1).any()
    assert (label == np.array(RED) * 6 // 10).all(axis=-1).any()


def test_colliding_labels_go_to_a_legend():
    image = np.full((64, 64, 3), 128, np.uint8)
    regions = []
    for i in range(32):  # stripes 2 px (16 px enlarged) high: their labels would overlap
        mask = np.zeros((64, 64), bool)
        mask[i * 2:(i + 1) * 2] = True
        regions.append(Region(f'class {i}', (8 * i, 250 - 7 * i, 90), mask=mask))
    picture = draw_regions(image, regions)
    assert picture.shape[0] == 512 and picture.shape[1] > 512  # a legend beside the image
    legend = picture[:, 512:]
    for region in regions:  # each class's swatch is in the legend
        assert (legend == region.color).all(axis=-1).any(), region.name
    forced = draw_regions(*halves(), legend=True)
    assert forced.shape[1] > 512


def test_a_label_leaving_the_picture_goes_to_the_legend():
    image = np.full((64, 64, 3), 128, np.uint8)
    corner = np.zeros((64, 64), bool)
    corner[:2, :2] = True
    picture = draw_regions(image, [Region('a long class name here', RED, mask=corner)])
    assert picture.shape[1] > 512


def test_legend_entries_count_areas_per_class():
    image, regions = halves(10)
    regions.append(Region('sky', RED, mask=np.zeros((10, 10), bool)))
    regions.append(Region('car', BLUE, box=[1, 1, 4, 4], score=0.5))
    entries = legend_entries(regions, 100)
    assert [(e['name'], e['area'], e['count']) for e in entries] == [
        ('sky', 50, 2), ('草地', 50, 1), ('car', 0, 1)]
    assert entries[0]['hex'] == '#dc1414' and entries[0]['fraction'] == 0.5


def test_boxes_are_outlined_with_their_score():
    image = np.full((64, 64, 3), 128, np.uint8)
    picture = draw_regions(image, [Region('car', RED, box=[8, 8, 56, 56], score=0.75)])
    assert picture.shape == (512, 512, 3)
    assert (picture[300, 62:66] == RED).all()  # the left edge, at 8 * 8 = 64 px
    assert (picture[300, 300] == 128).all()  # inside: not tinted


def test_large_images_keep_their_size():
    image = np.full((600, 700, 3), 128, np.uint8)
    mask = np.zeros((600, 700), bool)
    mask[100:500, 100:600] = True
    assert draw_regions(image, [Region('sky', RED, mask=mask)]).shape == (600, 700, 3)


def test_masks_of_another_size_are_resized():
    image = np.full((64, 64, 3), 128, np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[:, :16] = True
    picture = draw_regions(image, [Region('sky', RED, mask=mask)])
    assert (picture[20, 20] != 128).any() and (picture[20, 400] == 128).all()


def test_text_panel_and_side_by_side():
    image = np.full((64, 48, 3), 128, np.uint8)
    panel = text_panel(image, ['猫: 0.91', 'кошка: 0.05'])
    assert panel.shape[0] == 512 and panel.shape[1] > 384
    row = side_by_side([panel, np.zeros((100, 50, 3), np.uint8)], titles=['a', 'b'])
    assert row.shape[1] == panel.shape[1] + 8 + 50
    assert row.shape[0] > panel.shape[0]  # the title strip
