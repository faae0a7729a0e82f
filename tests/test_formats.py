"""Formats, bit depths, alpha, gray and colour spaces, through the public run API and CLI."""

from __future__ import annotations

import shlex
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

import neuralfx
from helpers import gradient, plugin_with, read_unit, to_dtype
from neuralfx.colour import ColourSpaces, linear_to_srgb, srgb_to_linear
from neuralfx.frames import exr
from neuralfx.frames.images import read_image, write_image
from neuralfx.pipeline.runner import RunOptions

TOL = {np.uint8: 0.5 / 255, np.uint16: 0.5 / 65535, np.float16: 1e-3, np.float32: 1e-6}


@pytest.mark.parametrize(
    "suffix, dtype, channels",
    [
        (".png", np.uint8, 3),
        (".png", np.uint16, 4),
        (".png", np.uint8, 1),
        (".png", np.uint8, 2),
        (".tif", np.uint8, 3),
        (".tif", np.uint16, 3),
        (".tif", np.float32, 4),
        (".exr", np.float16, 3),
        (".exr", np.float32, 4),
        (".exr", np.float16, 1),
    ],
)
def test_convert_keeps_depth_alpha_and_gray(tmp_path, suffix, dtype, channels):
    pic = to_dtype(gradient(channels=channels), dtype)
    src = str(tmp_path / f"in{suffix}")
    write_image(src, pic)
    out = str(tmp_path / f"out{suffix}")
    neuralfx.run("convert", src, out, options=RunOptions(device="cpu"))
    back = read_image(out)
    assert back.dtype == pic.dtype
    expected_channels = 4 if (channels == 2 and suffix != ".exr") else channels
    assert back.shape[2] == expected_channels
    got = back if channels != 2 or suffix == ".exr" else back[:, :, [0, 3]]
    np.testing.assert_allclose(
        got.astype(np.float64),
        pic.astype(np.float64),
        atol=TOL[dtype] * (65535 if dtype == np.uint16 else 255 if dtype == np.uint8 else 1) + 1e-9,
    )


def test_jpeg_round_trip_and_alpha_dropped_with_warning(tmp_path, make_sequence, cli):
    src = make_sequence(channels=4)
    result = cli("run", "convert", "--progress", "json", src, tmp_path / "o.####.jpg")
    warnings = [e["message"] for e in cli.events(result) if e["event"] == "warning"]
    assert any("cannot hold alpha" in w for w in warnings)
    back = read_unit(tmp_path / "o.1001.jpg")
    assert back.shape == (48, 64, 3)
    assert np.abs(back - read_unit(src.replace("####", "1001"))[:, :, :3]).mean() < 0.02


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("channels", [3, 1])
def test_jpeg_is_turned_as_its_exif_orientation_says(tmp_path, cli, orientation, channels):
    """Phone photos (a single image to paint, a style, a reference face, FUNIT's examples)
    are stored on their side with an EXIF orientation that viewers follow."""
    from PIL import Image, ImageOps

    pic = to_dtype(gradient(64, 48, seed=4), np.uint8)
    image = Image.fromarray(pic if channels == 3 else pic[:, :, 1])
    exif = image.getexif()
    exif[0x0112] = orientation  # EXIF Orientation
    image.save(tmp_path / "phone.jpg", exif=exif, quality=98)
    cli("run", "convert", tmp_path / "phone.jpg", tmp_path / "up.png")
    shown = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "phone.jpg")))
    got = read_image(str(tmp_path / "up.png"))
    assert got.shape[:2] == shown.shape[:2] != pic.shape[:2] or orientation == 3
    np.testing.assert_array_equal(got.reshape(shown.shape), shown)


def test_webp_in_and_out(tmp_path, cli):
    """Style and reference images from the web often come as WebP: read exactly (a lossless
    file), and written at --quality with its alpha."""
    pic = to_dtype(gradient(channels=4, seed=2), np.uint8)
    cv2.imwrite(
        str(tmp_path / "web.webp"),
        cv2.cvtColor(pic, cv2.COLOR_RGBA2BGRA),
        [cv2.IMWRITE_WEBP_QUALITY, 101],  # lossless
    )
    cli("run", "convert", tmp_path / "web.webp", tmp_path / "back.png")
    np.testing.assert_array_equal(read_image(str(tmp_path / "back.png")), pic)
    cli("run", "convert", "--quality", "90", tmp_path / "back.png", tmp_path / "out.webp")
    out = read_image(str(tmp_path / "out.webp"))
    assert out.shape == pic.shape and np.abs(out / 255.0 - pic / 255.0).mean() < 0.02


def test_png_to_exr_is_linear_and_back_is_exact(tmp_path, make_sequence):
    src = make_sequence()
    neuralfx.run("convert", src, str(tmp_path / "lin.####.exr"), options=RunOptions(depth="float"))
    lin = read_image(str(tmp_path / "lin.1001.exr"))
    assert lin.dtype == np.float32
    srgb = read_unit(src.replace("####", "1001"))
    np.testing.assert_allclose(lin, srgb_to_linear(srgb), atol=1e-6)
    neuralfx.run(
        "convert",
        str(tmp_path / "lin.####.exr"),
        str(tmp_path / "back.####.png"),
        options=RunOptions(depth="8"),
    )
    assert np.array_equal(
        read_image(str(tmp_path / "back.1001.png")), read_image(src.replace("####", "1001"))
    )
    # Left to choose, a float source goes into 16-bit PNG so that precision is kept.
    neuralfx.run("convert", str(tmp_path / "lin.####.exr"), str(tmp_path / "deep.####.png"))
    assert read_image(str(tmp_path / "deep.1001.png")).dtype == np.uint16


def test_srgb_transfer_functions_invert():
    x = np.linspace(-0.5, 4.0, 1001, dtype=np.float32)
    np.testing.assert_allclose(srgb_to_linear(linear_to_srgb(x)), x, rtol=1e-5, atol=1e-6)
    assert srgb_to_linear(np.float32(0.5)) == pytest.approx(0.21404, abs=1e-5)


def test_ocio_acescg_input_matches_opencolorio(tmp_path):
    import PyOpenColorIO as ocio

    pic = gradient() * 2.0  # scene-linear values above 1
    src = str(tmp_path / "plate.exr")
    write_image(src, pic.astype(np.float32))
    out = str(tmp_path / "review.png")
    neuralfx.run(
        "convert",
        src,
        out,
        options=RunOptions(
            ocio="ocio://default", input_colorspace="ACEScg", output_colorspace="srgb", depth="16"
        ),
    )
    cfg = ocio.Config.CreateFromFile("ocio://default")
    expected = pic.astype(np.float32).copy()
    cfg.getProcessor("ACEScg", "sRGB - Texture").getDefaultCPUProcessor().applyRGB(expected)
    np.testing.assert_allclose(read_unit(out), np.clip(expected, 0, 1), atol=1 / 65535 + 1e-6)
    assert ColourSpaces("ocio://default").resolve("linear") == "Linear Rec.709 (sRGB)"


def test_lut_style_effect_gets_srgb_from_linear_exr(tmp_path, fresh_host):
    """An effect working in srgb receives sRGB-encoded values from a linear EXR and its output
    goes back to linear."""
    seen = {}

    class Probe(neuralfx.Effect):
        name = "probe"
        working_space = "srgb"

        def process(self, batch):
            seen["rgb"] = batch.rgb.clone()
            return batch

    fresh_host.add_plugin(plugin_with(Probe), name="probe")
    lin = srgb_to_linear(gradient())
    write_image(str(tmp_path / "a.exr"), lin)
    neuralfx.run(
        "probe", str(tmp_path / "a.exr"), str(tmp_path / "b.exr"), options=RunOptions(depth="float")
    )
    got = seen["rgb"][0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, linear_to_srgb(lin), atol=1e-5)
    np.testing.assert_allclose(read_image(str(tmp_path / "b.exr")), lin, atol=1e-5)


def _make_video(
    path,
    frames=12,
    size=(64, 48),
    audio=True,
    rate=24,
    display_rotation=0,
    pixel_aspect=None,
    timecode=None,
):
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        if timecode is not None:
            v.metadata["timecode"] = timecode
        if pixel_aspect is not None:
            v.codec_context.sample_aspect_ratio = pixel_aspect
        if display_rotation:
            v.set_display_rotation(display_rotation)
        a = out.add_stream("aac", rate=48000) if audio else None
        for i in range(frames):
            pic = to_dtype(gradient(size[0], size[1], seed=i), np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            samples = int(48000 * frames / rate)
            t = np.arange(samples) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for start in range(0, samples, 1024):
                frame = av.AudioFrame.from_ndarray(
                    tone[:, start : start + 1024], format="fltp", layout="mono"
                )
                frame.sample_rate, frame.pts = 48000, start
                for p in a.encode(frame):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)


def test_video_to_sequence_numbers_frames_from_one(tmp_path, cli):
    _make_video(tmp_path / "in.mp4", frames=10)
    cli("run", "convert", "--frames", "3-5", tmp_path / "in.mp4", tmp_path / "f.####.png")
    assert sorted(p.name for p in tmp_path.glob("f.*.png")) == [
        "f.0003.png",
        "f.0004.png",
        "f.0005.png",
    ]
    # Frame 4 of the video is the gradient with seed 3 (frames count from 1).
    diff = np.abs(read_unit(tmp_path / "f.0004.png") - gradient(seed=3)).mean()
    other = np.abs(read_unit(tmp_path / "f.0004.png") - gradient(seed=7)).mean()
    assert diff < other and diff < 0.03


# What a player shows for a display matrix turning the picture by this many degrees
# counter-clockwise (FFmpeg's convention): written out with transposes and flips.
AS_SHOWN = {
    90: lambda a: a.transpose(1, 0, 2)[::-1],
    -90: lambda a: a.transpose(1, 0, 2)[:, ::-1],
    180: lambda a: a[::-1, ::-1],
}


@pytest.mark.parametrize("turn", sorted(AS_SHOWN))
def test_video_stored_on_its_side_is_read_as_players_show_it(tmp_path, cli, turn):
    """Phone footage shot upright is stored on its side with a display matrix; the frames,
    and so the outputs (sequence and video), are what a player shows."""
    _make_video(tmp_path / "phone.mp4", frames=4, size=(64, 48), display_rotation=turn)
    r = cli("run", "convert", tmp_path / "phone.mp4", tmp_path / "f.####.png")
    said = {90: "90° counter-clockwise", -90: "90° clockwise", 180: "180°"}[turn]
    assert f"turn its picture {said} " in r.stderr
    cli("run", "convert", tmp_path / "phone.mp4", tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as c:
        video = [f for f in c.decode(video=0)]
        assert video[0].rotation == 0
        video = [f.to_ndarray(format="rgb24") / 255.0 for f in video]
    source = gradient(64, 48, seed=2)
    candidates = {0: lambda a: a, **AS_SHOWN}
    for got in (read_unit(tmp_path / "f.0003.png"), video[2]):
        assert got.shape == AS_SHOWN[turn](source).shape
        errors = sorted(
            (np.abs(got - shown(source)).mean(), t)
            for t, shown in candidates.items()
            if shown(source).shape == got.shape
        )
        (best, best_turn), (runner_up, _) = errors[:2]
        assert best_turn == turn and best < runner_up / 3, errors


def _trim_start_without_reencoding(source, path, frames: int):
    """Remux ``source`` with its first ``frames`` frames before time zero: the container keeps
    them (its frame count too) and an edit list tells players to skip them, as a cut made
    without re-encoding (``ffmpeg -ss 2 -c copy``) or an editor's export does."""
    with av.open(str(source)) as inp, av.open(str(path), "w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        shift = int(Fraction(frames) / stream.average_rate / stream.time_base)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            packet.pts, packet.dts, packet.stream = packet.pts - shift, packet.dts - shift, copy
            out.mux(packet)


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_video_trimmed_by_an_edit_list_has_the_frames_players_show(tmp_path, cli, suffix):
    _make_video(tmp_path / "whole.mp4", frames=10, audio=False)
    _trim_start_without_reencoding(tmp_path / "whole.mp4", tmp_path / f"cut{suffix}", frames=3)
    with av.open(str(tmp_path / f"cut{suffix}")) as c:  # the container still counts 10
        assert c.streams.video[0].frames == 10
    cli("run", "convert", tmp_path / f"cut{suffix}", tmp_path / "f.####.png")
    assert len(list(tmp_path.glob("f.*.png"))) == 7
    for number, seed in ((1, 3), (7, 9)):  # frame 1 is the whole clip's fourth
        got = read_unit(tmp_path / f"f.{number:04d}.png")
        errors = [np.abs(got - gradient(seed=s)).mean() for s in range(10)]
        assert int(np.argmin(errors)) == seed, errors
    cli("run", "convert", "--frames", "6-7", tmp_path / f"cut{suffix}", tmp_path / "end.mov")
    with av.open(str(tmp_path / "end.mov")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 2


def test_hdr_video_says_how_to_read_it_and_the_advice_works(tmp_path, cli):
    """An HLG HEVC clip (phones shoot HDR by default): read as coded unless its colour space is
    given; the warning's flags read it as Rec.2100 HLG and write SDR."""
    path = str(tmp_path / "hdr.mp4")
    with av.open(path, "w") as out:
        stream = out.add_stream("libx265", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p10le"
        stream.options = {"x265-params": "log-level=error"}
        tags = {"color_primaries": 9, "color_trc": 18, "colorspace": 9}  # BT.2020, HLG
        for tag, value in {**tags, "color_range": 1}.items():
            setattr(stream.codec_context, tag, value)
        picture = np.zeros((48, 64, 3), np.uint16)
        picture[:, :32], picture[:, 32:] = 20000, 30000  # HLG 0.31 and 0.46: below SDR white
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb48le")
            for tag, value in tags.items():
                setattr(frame, tag, value)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    r = cli("run", "convert", path, tmp_path / "as-coded.####.png")
    assert "HDR video (Rec.2100 HLG)" in r.stderr
    flags = shlex.split(r.stderr.split("e.g. ")[1].split(" (what")[0])
    assert "--input-colorspace" in flags
    r = cli("run", "convert", *flags, path, tmp_path / "sdr.####.png")
    assert "HDR" not in r.stderr
    coded, sdr = read_unit(tmp_path / "as-coded.0001.png"), read_unit(tmp_path / "sdr.0001.png")
    # Gray stays gray, the brighter half stays brighter, and the transfer changed the levels.
    assert np.ptp(sdr[24, 16]) < 0.02 and sdr[24, 48, 1] > sdr[24, 16, 1] + 0.05
    assert np.abs(sdr - coded).mean() > 0.05


@pytest.mark.parametrize("suffix", [".ts", ".mkv", ".mp4"])
def test_video_cut_inside_a_group_of_pictures_has_the_frames_players_show(tmp_path, cli, suffix):
    """A capture or a cut that starts after a keyframe: the frames before the next keyframe
    cannot be decoded, so players (and the decoder) skip them."""
    whole = str(tmp_path / "whole.ts")
    with av.open(whole, "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "5", "bf": "0"}  # keyframes at frames 0, 5, 10
        for i in range(12):
            pic = to_dtype(gradient(seed=i), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    cut = str(tmp_path / f"cut{suffix}")
    with av.open(whole) as inp, av.open(cut, "w") as out:
        copy = out.add_stream_from_template(inp.streams.video[0])
        packets = [p for p in inp.demux(inp.streams.video[0]) if p.dts is not None]
        for packet in packets[2:]:  # frames 2-4 then refer to frame 0, which is gone
            packet.stream = copy
            out.mux(packet)
    cli("run", "convert", cut, tmp_path / "f.####.png")
    assert len(list(tmp_path.glob("f.*.png"))) == 7
    got = read_unit(tmp_path / "f.0001.png")  # the whole clip's sixth frame, its 2nd keyframe
    errors = [np.abs(got - gradient(seed=s)).mean() for s in range(12)]
    assert int(np.argmin(errors)) == 5, errors


@pytest.mark.parametrize(
    "rate, start, frames, expected",
    [
        (24, "01:00:10:05", "3-5", "01:00:10:07"),
        (25, "00:59:59:24", "2-4", "01:00:00:00"),
        (Fraction(30000, 1001), "00:00:59;28", "3-4", "00:01:00;02"),  # drop-frame: ;00 ;01 skipped
        (Fraction(30000, 1001), "00:09:59;29", "2-3", "00:10:00;00"),  # every tenth minute kept
        (24, "not a timecode", "2-3", None),  # left out, the run goes on
    ],
)
@pytest.mark.parametrize("suffix", [".mov", ".mp4"])
def test_video_output_keeps_the_timecode_of_its_first_frame(
    tmp_path, cli, suffix, rate, start, frames, expected
):
    """An editor conforms a processed shot by its timecode: the output's is its first frame's."""
    _make_video(tmp_path / "plate.mov", frames=6, rate=rate, timecode=start, audio=False)
    cli("run", "convert", "--frames", frames, tmp_path / "plate.mov", tmp_path / f"out{suffix}")
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.streams.video[0].metadata.get("timecode") == expected


@pytest.mark.parametrize("interlaced", [True, False])
def test_interlaced_video_is_said_to_be(tmp_path, cli, interlaced):
    with av.open(str(tmp_path / "clip.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if interlaced:
            stream.options = {"x264-params": "tff=1"}  # top field first, as HD broadcast
        for i in range(3):
            pic = to_dtype(gradient(seed=i), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    r = cli("run", "convert", tmp_path / "clip.mp4", tmp_path / "f.####.png")
    assert ("is interlaced" in r.stderr and "deinterlace it first" in r.stderr) == interlaced
    assert len(list(tmp_path.glob("f.*.png"))) == 3


def test_exr_frames_of_a_video_carry_their_timecode(tmp_path, cli):
    """A plate turned into EXR frames: each header has its frame's timecode, drop-frame kept,
    and a review movie of them starts where the frames do."""
    rate = Fraction(30000, 1001)
    _make_video(tmp_path / "plate.mov", frames=6, rate=rate, timecode="00:00:59;28", audio=False)
    cli("run", "convert", "--frames", "2-5", tmp_path / "plate.mov", tmp_path / "f.####.exr")
    with_header = {n: exr.timecode(str(tmp_path / f"f.{n:04d}.exr")) for n in range(2, 6)}
    assert with_header == {2: "00:00:59;29", 3: "00:01:00;02", 4: "00:01:00;03", 5: "00:01:00;04"}
    cli("run", "convert", "--fps", "30000/1001", tmp_path / "f.####.exr", tmp_path / "r.mov")
    with av.open(str(tmp_path / "r.mov")) as c:
        assert c.streams.video[0].metadata.get("timecode") == "00:00:59;29"


def test_video_made_from_exr_frames_has_the_first_frames_timecode(tmp_path, cli):
    """A plate's EXR frames carry their timecode in the header (scanners, debayering tools);
    a review movie of them starts at its first frame's."""
    import OpenEXR

    for number in range(1001, 1005):
        code = OpenEXR.TimeCode()
        code.hours, code.minutes, code.seconds, code.frame = 10, 0, 41, number - 1001 + 20
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        pixels = srgb_to_linear(gradient(seed=number)).astype(np.float16)
        with OpenEXR.File({**header, "timeCode": code}, {"RGB": pixels}) as exr_file:
            exr_file.write(str(tmp_path / f"plate.{number}.exr"))
    out = tmp_path / "review.mov"
    cli("run", "convert", "--frames", "1002-1004", tmp_path / "plate.####.exr", out)
    with av.open(str(out)) as c:
        assert c.streams.video[0].metadata.get("timecode") == "10:00:41:21"


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_video_with_non_square_pixels_keeps_them(tmp_path, cli, suffix):
    """Anamorphic, DV or HDV footage: the pixel grid is processed as it is, and the output
    says how wide its pixels are, so it plays with the source's shape (not squeezed)."""
    _make_video(tmp_path / "hdv.mp4", frames=3, pixel_aspect=Fraction(4, 3), audio=False)
    cli("run", "convert", tmp_path / "hdv.mp4", tmp_path / f"out{suffix}")
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.streams.video[0].sample_aspect_ratio == Fraction(4, 3)
        assert (c.streams.video[0].width, c.streams.video[0].height) == (64, 48)


@pytest.mark.parametrize(
    "suffix, codec, pix_fmt", [(".mp4", "h264", "yuv420p"), (".mov", "prores", "yuv422p10le")]
)
def test_video_out_with_audio_passed_through(tmp_path, cli, suffix, codec, pix_fmt):
    _make_video(tmp_path / "in.mp4", frames=12)
    out = tmp_path / f"out{suffix}"
    cli("run", "convert", tmp_path / "in.mp4", out)
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == codec and v.codec_context.pix_fmt == pix_fmt
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == 12
    with av.open(str(tmp_path / "in.mp4")) as c:
        source = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    same = np.abs(frames[5] / 255.0 - source[5] / 255.0).mean()
    assert same < 0.02 and same < np.abs(frames[5] / 255.0 - source[9] / 255.0).mean() / 3


def test_prores_keeps_alpha(tmp_path, make_sequence):
    src = make_sequence(channels=4, dtype=np.uint16)
    out = str(tmp_path / "alpha.mov")
    neuralfx.run("convert", src, out)
    with av.open(out) as c:
        assert c.streams.video[0].codec_context.pix_fmt.startswith("yuva444p")
    neuralfx.run("convert", out, str(tmp_path / "back.####.png"))
    back = read_image(str(tmp_path / "back.0002.png"))
    assert back.dtype == np.uint16 and back.shape[2] == 4
    orig = read_unit(src.replace("####", "1002"))
    assert np.abs(back[:, :, 3] / 65535.0 - orig[:, :, 3]).max() < 2e-3


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])  # H.264, ProRes
def test_the_same_frames_make_the_same_video_file_every_time(tmp_path, make_sequence, suffix):
    """A rerun, or a run resumed after a crash, gives the file the first run gave (render farms
    compare checksums). With x264's macroblock tree, the same frames made a different H.264 file
    in most runs of a clip this size."""
    src = make_sequence(frames=range(1, 13), width=320, height=240)
    files = []
    for k in range(6):
        out = tmp_path / f"run{k}{suffix}"
        neuralfx.run("convert", src, str(out))
        files.append(out.read_bytes())
    assert [f == files[0] for f in files] == [True] * 6


def test_every_audio_track_is_kept(tmp_path, cli):
    """Cameras record several tracks (a boom and a lavalier, one channel each): all of them
    are copied, each cut to the frames kept."""
    path = str(tmp_path / "camera.mov")
    with av.open(path, "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        tracks = [out.add_stream("aac", rate=48000) for _ in range(2)]
        for i in range(24):
            pic = to_dtype(gradient(seed=i), np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        t = np.arange(48000) / 48000
        for track, pitch in zip(tracks, (440, 880)):
            tone = (0.2 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)[None]
            for start in range(0, 48000, 1024):
                frame = av.AudioFrame.from_ndarray(
                    tone[:, start : start + 1024], format="fltp", layout="mono"
                )
                frame.sample_rate, frame.pts = 48000, start
                for packet in track.encode(frame):
                    out.mux(packet)
            for packet in track.encode():
                out.mux(packet)
    cli("run", "convert", "--frames", "7-18", path, tmp_path / "out.mov")
    for index, pitch in enumerate((440, 880)):
        with av.open(str(tmp_path / "out.mov")) as c:
            assert len(c.streams.audio) == 2
            samples = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=index)])
            assert abs(len(samples) / 48000 - 0.5) < 0.05  # 12 frames at 24 fps
            spectrum = np.abs(np.fft.rfft(samples[2048:]))
            assert abs(np.argmax(spectrum) * 48000 / (len(samples) - 2048) - pitch) < 10


def _flash_and_beep(path, start_seconds):
    """A 2 s, 24 fps transport stream whose frame 25 (1.0 s in) is white and whose sound, silent
    until then, beeps from that moment; its clock starts at ``start_seconds``, as a camera's
    or a broadcast capture's does."""
    whole = str(path) + ".tmp.ts"
    with av.open(whole, "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="mono")
        for i in range(48):
            pic = np.full((48, 64, 3), 255 if i == 24 else 16, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        t = np.arange(96000) / 48000
        sound = (0.3 * np.sin(2 * np.pi * 440 * t) * (t >= 1.0)).astype(np.float32)[None]
        for s in range(0, 96000, 1024):
            frame = av.AudioFrame.from_ndarray(sound[:, s : s + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, s
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    with av.open(whole) as inp, av.open(str(path), "w") as out:
        copies = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is not None:
                shift = int(start_seconds / packet.stream.time_base)
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                packet.stream = copies[packet.stream.index]
                out.mux(packet)


@pytest.mark.parametrize("start_seconds", [0, 10])
@pytest.mark.parametrize("frames", [None, "13-40"])
def test_sound_stays_in_sync_with_the_picture(tmp_path, cli, start_seconds, frames):
    """The flash and the beep of the source are together in the output, however late the
    source's clock starts and wherever the frames kept begin."""
    _flash_and_beep(tmp_path / "clap.ts", start_seconds)
    cli(
        "run",
        "convert",
        *(["--frames", frames] if frames else []),
        tmp_path / "clap.ts",
        tmp_path / "out.mov",
    )
    with av.open(str(tmp_path / "out.mov")) as c:
        video = c.streams.video[0]
        times = [
            (float(f.pts * video.time_base), f.to_ndarray(format="gray").mean())
            for f in c.decode(video)
        ]
    with av.open(str(tmp_path / "out.mov")) as c:
        audio = c.streams.audio[0]
        decoded = [(float(f.pts * audio.time_base), f.to_ndarray()[0]) for f in c.decode(audio)]
    flash = max(times, key=lambda tv: tv[1])[0]
    start, samples = decoded[0][0], np.concatenate([s for _, s in decoded])
    beep = start + np.argmax(np.abs(samples) > 0.1) / 48000
    assert abs(flash - (1.0 if frames is None else 0.5)) < 1e-3
    assert abs(beep - flash) < 0.025, (beep, flash)  # within one AAC packet


def test_video_range_keeps_the_matching_audio(tmp_path, cli):
    _make_video(tmp_path / "in.mp4", frames=24)
    out = tmp_path / "cut.mov"
    cli("run", "convert", "--frames", "7-18", tmp_path / "in.mp4", out)
    with av.open(str(out)) as c:
        audio = c.streams.audio[0]
        packets = [p for p in c.demux(audio) if p.pts is not None]
        start = float(packets[0].pts * audio.time_base)
        end = float((packets[-1].pts + packets[-1].duration) * audio.time_base)
    with av.open(str(out)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    assert frames == 12
    assert start < 0.05 and abs((end - start) - 0.5) < 0.05  # 12 frames at 24 fps


def test_channels_option(tmp_path, make_sequence, cli):
    src = make_sequence(frames=[1])
    cli("run", "convert", "--channels", "gray", src, tmp_path / "g.####.png")
    gray = read_image(str(tmp_path / "g.0001.png"))
    rgb = read_unit(src.replace("####", "0001"))
    assert gray.shape == (48, 64, 1)
    expected = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    np.testing.assert_allclose(gray[:, :, 0] / 255.0, expected, atol=1 / 255 + 1e-6)
    result = cli(
        "run", "convert", "--channels", "rgba", "--progress", "json", src, tmp_path / "a.####.png"
    )
    assert any("writing an opaque alpha" in e.get("message", "") for e in cli.events(result))
    rgba = read_image(str(tmp_path / "a.0001.png"))
    assert rgba.shape == (48, 64, 4) and (rgba[:, :, 3] == 255).all()


def test_output_option_mismatches(tmp_path, make_sequence, cli):
    src = make_sequence(frames=[1])
    result = cli("run", "convert", "--depth", "half", src, tmp_path / "h.####.png", expect=2)
    assert "PNG cannot be written at depth half" in result.stderr and "8, 16" in result.stderr
    assert not (tmp_path / "h.0001.png").exists()
    result = cli("run", "convert", "--codec", "prores", src, tmp_path / "v.mp4", expect=1)
    assert "prores cannot be written into a .mp4 file" in result.stderr
    result = cli("run", "convert", "--depth", "16", src, tmp_path / "v.mov", expect=2)
    assert "video outputs choose their own depth" in result.stderr


def test_jpeg_quality(tmp_path, make_sequence, cli):
    src = make_sequence(frames=[1])
    cli("run", "convert", "--quality", "30", src, tmp_path / "low.####.jpg")
    cli("run", "convert", "--quality", "98", src, tmp_path / "high.####.jpg")
    low = (tmp_path / "low.0001.jpg").stat().st_size
    high = (tmp_path / "high.0001.jpg").stat().st_size
    assert low < high
    original = read_unit(src.replace("####", "0001"))
    assert (
        np.abs(read_unit(tmp_path / "high.0001.jpg") - original).mean()
        < np.abs(read_unit(tmp_path / "low.0001.jpg") - original).mean()
    )
