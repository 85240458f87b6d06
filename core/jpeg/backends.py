"""Built-in JPEG encoder backends (registered like any extension's): pillow (libjpeg-turbo), mozjpeg, jpegli, and
"default", rdjpeg's default encoder.

A backend turns 8-bit pixels into the bytes of a standard JPEG, and says which quantization tables and chroma
subsampling it uses, so that the simulator can model it. Options common to all: ``quality`` (1..100),
``subsampling`` ("4:4:4" / "4:2:2" / "4:2:0", where the encoder lets us choose) and ``optimize`` (optimized Huffman
tables). Every JPEG is decoded by Pillow for evaluation.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import threading
import warnings
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFile

from .. import weights
from ..images import decode_jpeg
from ..look import features, look, lowest_quality
from ..pillow_options import check_metadata_types, check_pillow_flags
from ..scores import MIN_SIDE, SSIMULACRA2, psnr
from ..targets import SAMPLE_FROM, Encoded, Target, TargetNotReached, aim, calibrated, least_quality, sample, search
from ..validate import check_pixels, check_quality, subsampling_name
from . import jpegli
from .markers import METADATA_OPTIONS, add_metadata, metadata_segments
from .tables import PILLOW_SUBSAMPLING, SUBSAMPLINGS, ijg_tables

_SUBSAMPLING_OF_LAYER = {factors: name for name, factors in SUBSAMPLINGS.items()}  # Pillow's layer (h, v) → name


_MAXBLOCK_LOCK = threading.Lock()


def pillow_jpeg_bytes(image: Image.Image, **options) -> bytes:
    """``image.save(…, "JPEG", **options)`` into bytes, also for files larger than Pillow's output buffer.

    With ``optimize`` or ``progressive`` libjpeg must write the whole file in one go, and Pillow sizes that buffer at
    W·H bytes (2·W·H from quality 95). Highly textured images at high quality exceed it, and Pillow then fails with
    "broken data stream" ("Suspension not allowed here"). We retry once with a buffer of 4 bytes per pixel plus
    metadata. Raising ``ImageFile.MAXBLOCK`` only enlarges allocations, so concurrent saves are unaffected.
    """
    buf = io.BytesIO()
    try:
        image.save(buf, "JPEG", **options)
    except OSError:
        if not (options.get("optimize") or options.get("progressive")):
            raise
        with _MAXBLOCK_LOCK:
            saved = ImageFile.MAXBLOCK
            ImageFile.MAXBLOCK = max(saved, 4 * image.size[0] * image.size[1] + (1 << 20))
            try:
                buf = io.BytesIO()
                image.save(buf, "JPEG", **options)
            finally:
                ImageFile.MAXBLOCK = saved
    return buf.getvalue()


class Backend:
    """Base class of encoder backends.

    Attributes:
        name: registry name.
        module: the module it needs beyond Pillow (``None`` when none): one of rdjpeg's dependencies, checked so that
            a broken install says which is missing.
        options: the encoder options it accepts besides ``quality``.
        table_options: those of ``options`` that change the quantization tables (:meth:`tables` looks at them).
        writes_gray: whether it encodes grayscale images (all do but jpegli here).
    """

    name: str
    module: str | None = None
    options: frozenset[str] = frozenset()
    table_options: frozenset[str] = frozenset()
    writes_gray: bool = True

    def available(self) -> bool:
        return self.module is None or importlib.util.find_spec(self.module) is not None

    def require(self) -> None:
        if not self.available():
            raise ImportError(f"the {self.name!r} backend needs {self.module!r}, which rdjpeg depends on but is not "
                              "installed: reinstall rdjpeg")  # fmt: skip

    def check(self, options: dict) -> None:
        """Raise unless this backend can write with these options: installed, every option known, and the backend's
        own rules, which subclasses add by extending this."""
        self.require()
        unknown = set(options) - self.options
        if unknown:
            raise ValueError(f"unknown option {sorted(unknown)}: the {self.name!r} backend does not accept it; it "
                             f"accepts {sorted(self.options)}")  # fmt: skip

    def encode(self, pixels: np.ndarray, quality: int = 75, **options) -> bytes:
        """The bytes of a JPEG file of uint8 ``pixels`` (H, W[, 1|3]); checks everything, then :meth:`write`."""
        pixels = check_pixels(pixels)
        self.check(options)
        if pixels.ndim == 2 and not self.writes_gray:
            raise ValueError(f"the {self.name!r} backend encodes RGB images only")
        return self.write(pixels, check_quality(quality), **options)

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        """:meth:`encode` for checked inputs (pixels (H, W) or (H, W, 3), options that passed :meth:`check`):
        what a backend implements."""
        raise NotImplementedError

    def write_for_decoding(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        """A file that decodes to the pixels :meth:`write`'s does, written as cheaply as the backend can (for
        :class:`rdjpeg_plugins.torchvision.RDJPEG`, which decodes it at once)."""
        return self.write(pixels, quality, **options)

    @functools.lru_cache(maxsize=256)  # noqa: B019 — backends are long-lived singletons
    def probe(self, quality: int, gray: bool = False, **options) -> tuple[np.ndarray, str]:
        """(tables (2, 8, 8) natural order, subsampling) this backend uses at this quality, read from a real file."""
        pixels = np.full((16, 16) if gray else (16, 16, 3), 128, np.uint8)
        image = Image.open(io.BytesIO(self.encode(pixels, quality, **options)))
        tables = [np.asarray(image.quantization[i]).reshape(8, 8) for i in sorted(image.quantization)]
        tables = np.stack([tables[0], tables[min(1, len(tables) - 1)]])
        layer = image.layer if image.mode != "L" else [(1, 1, 1, 0)]
        subsampling = _SUBSAMPLING_OF_LAYER.get((layer[0][1], layer[0][2]), "4:4:4") if len(layer) == 3 else "4:4:4"
        return tables, subsampling

    def _probe_with(self, quality: int, options: dict) -> tuple[np.ndarray, str]:
        return self.probe(quality, **{k: options[k] for k in self.table_options & options.keys()})

    def tables(self, quality: int, **options) -> np.ndarray:
        """The tables at ``quality`` with these encoder options (those outside ``table_options`` are ignored)."""
        return self._probe_with(quality, options)[0]

    def subsampling(self, quality: int, **options) -> str:
        return self._probe_with(quality, options)[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class PillowBackend(Backend):
    """Pillow's JPEG encoder (libjpeg-turbo). Accepts every option of Pillow's JPEG save (``Image.save`` docs)."""

    name = "pillow"
    options = frozenset({
        "subsampling", "optimize", "progressive", "qtables", "exif", "icc_profile", "dpi", "comment",
        "restart_marker_blocks", "restart_marker_rows", "keep_rgb", "xmp", "smooth", "streamtype",
    })  # fmt: skip

    def check(self, options: dict) -> None:
        super().check(options)
        check_pillow_flags(options)
        check_metadata_types(options)
        if options.get("subsampling", -1) != -1:  # -1: Pillow's default
            subsampling_name(options["subsampling"])

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        if options.get("subsampling", -1) != -1:
            options["subsampling"] = PILLOW_SUBSAMPLING[subsampling_name(options["subsampling"])]
        return pillow_jpeg_bytes(Image.fromarray(pixels), quality=quality, **options)

    def tables(self, quality: int, **options) -> np.ndarray:
        # libjpeg's IJG scaling is computed, not probed: the simulator's own tables.
        return ijg_tables(quality)[0]


RESTART_OPTIONS = {"restart_marker_blocks": "restart_blocks", "restart_marker_rows": "restart_rows"}  # → jpegli's


def jpegli_options(options: dict) -> dict:
    """:func:`rdjpeg.jpeg.jpegli.encode`'s subsampling and restart arguments for checked backend options."""
    out = {jpegli_name: int(options[name]) for name, jpegli_name in RESTART_OPTIONS.items() if options.get(name)}
    if options.get("subsampling", -1) != -1:
        out["subsampling"] = subsampling_name(options["subsampling"])
    return out


def restart_interval(options: dict, width: int, mcu_width: int) -> int:
    """The MCUs between restart markers that libjpeg derives from Pillow's options (rows win), for an encoder that
    takes only the count (mozjpeg through libvips)."""
    if options.get("restart_marker_rows"):
        return min(int(options["restart_marker_rows"]) * -(-width // mcu_width), jpegli.MAX_RESTART_INTERVAL)
    return int(options.get("restart_marker_blocks") or 0)


def check_restart_options(options: dict) -> None:
    """Restart intervals jpegli writes: integers (a bool too, as Pillow reads it) in 0..65535."""
    for name in RESTART_OPTIONS.keys() & options.keys():
        value = options[name]
        if not isinstance(value, (int, np.integer)) or not 0 <= value <= jpegli.MAX_RESTART_INTERVAL:
            raise ValueError(f"{name} must be an integer in 0..{jpegli.MAX_RESTART_INTERVAL}, got {value!r}")


# mozjpeg's built-in base quantization tables (``cjpeg -quant-table N``), scaled by quality like the IJG ones.
MOZJPEG_TABLES = {
    "annex-k": 0, "flat": 1, "ms-ssim": 2, "imagemagick": 3, "psnr-hvs": 4, "klein": 5, "watson": 6,
    "ahumada": 7, "peterson": 8,
}  # fmt: skip


def mozjpeg_table(table: str | int) -> int:
    """The index of one of mozjpeg's base tables, given by name (:data:`MOZJPEG_TABLES`) or index 0..8."""
    if isinstance(table, str) and table in MOZJPEG_TABLES:
        return MOZJPEG_TABLES[table]
    if isinstance(table, (int, np.integer)) and not isinstance(table, bool) and 0 <= table < len(MOZJPEG_TABLES):
        return int(table)
    raise ValueError(f"table must be one of {', '.join(MOZJPEG_TABLES)} or an index 0..8, got {table!r}")


# What cjpeg writes after SOI: a JFIF 1.01 APP0 segment, no density units. libvips writes it only when it keeps
# "other" metadata, which would also bring its own EXIF block; we keep nothing we were not given and add this.
_JFIF_APP0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_VIPS_METADATA = {"exif": "exif-data", "icc_profile": "icc-profile-data"}  # option → libvips field
_VIPS_KEEP = {"exif": "exif", "icc_profile": "icc"}  # option → libvips ``keep`` flag


class MozJPEGBackend(Backend):
    """mozjpeg 5, in memory, through ``pyvips`` (``pyvips-binary`` bundles libvips with mozjpeg 5.0.0).

    The defaults are cjpeg's: trellis quantization, overshoot deringing, progressive with optimized scans,
    optimized Huffman tables, the "imagemagick" base table (3), 4:2:0, a JFIF header. The decoded pixels equal those of
    mozjpeg 4.0.3's cjpeg at every quality measured (BENCHMARKS.md, "mozjpeg 5 through pyvips"); one difference:
    libvips limits table entries to 255 (baseline JPEG, as libjpeg-turbo and Pillow do), where cjpeg writes 16-bit
    entries at very low qualities.

    Options: ``subsampling`` "4:2:0" (default) or "4:4:4"; ``progressive`` (default True; False writes a baseline
    file with trellis quantization); ``table``, another of mozjpeg's base tables (:data:`MOZJPEG_TABLES`): "flat"
    suits MSE/PSNR and "ms-ssim" suits MS-SSIM far better than the default (BENCHMARKS.md, "Quantization
    tables"); ``exif`` and ``icc_profile`` bytes; restart markers as Pillow's options write them
    (``restart_marker_blocks``, ``restart_marker_rows``). ``optimize`` may only be True: trellis quantization needs
    optimized Huffman tables.
    """

    name, module = "mozjpeg", "pyvips"
    options = frozenset({"subsampling", "optimize", "progressive", "table", "exif", "icc_profile", *RESTART_OPTIONS})
    table_options = frozenset({"table"})

    def check(self, options: dict) -> None:
        super().check(options)
        if subsampling_name(options.get("subsampling", "4:2:0")) == "4:2:2":
            raise ValueError("the 'mozjpeg' backend writes 4:2:0 (cjpeg's default) or 4:4:4, not 4:2:2")
        if options.get("optimize") is False:
            raise ValueError("the 'mozjpeg' backend always writes optimized Huffman tables (trellis needs them)")
        mozjpeg_table(options.get("table", "imagemagick"))
        check_restart_options(options)

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        subsampling = subsampling_name(options.get("subsampling", "4:2:0"))
        progressive = bool(options.get("progressive", True))
        table = mozjpeg_table(options.get("table", "imagemagick"))
        import pyvips  # imported when this backend first writes: libvips starts only for those who use it

        pixels = np.ascontiguousarray(pixels)
        bands = 1 if pixels.ndim == 2 else 3
        image = pyvips.Image.new_from_memory(pixels.data, pixels.shape[1], pixels.shape[0], bands, "uchar")
        given = [key for key in _VIPS_METADATA if options.get(key)]
        if given:
            image = image.copy()
            for key in given:
                image.set_type(pyvips.GValue.blob_type, _VIPS_METADATA[key], bytes(options[key]))
        data = image.jpegsave_buffer(
            Q=quality, optimize_coding=True, trellis_quant=True, overshoot_deringing=True, interlace=progressive,
            optimize_scans=progressive, quant_table=table, subsample_mode="off" if subsampling == "4:4:4" else "on",
            keep="|".join(_VIPS_KEEP[key] for key in given) or "none",
            restart_interval=restart_interval(options, pixels.shape[1], 16 if bands == 3 and subsampling == "4:2:0"
                                              else 8),
        )  # fmt: skip
        return data if data[2:4] == b"\xff\xe0" else data[:2] + _JFIF_APP0 + data[2:]


class JpegliBackend(Backend):
    """jpegli (:mod:`rdjpeg.jpeg.jpegli`, the library that ``pyjpegli`` ships), RGB only here, with its own tables.

    ``optimize=True``: optimized Huffman tables and jpegli's progressive scans, written by jpegli in the same pass
    (the pixels are those of the plain file); otherwise baseline with the standard tables, as ``pyjpegli.encode``.
    ``subsampling``: "4:2:0" (default), "4:2:2" or "4:4:4" (or Pillow's 2, 1, 0); ``restart_marker_blocks`` and
    ``restart_marker_rows``: restart markers as Pillow's (libjpeg's) options write them.
    """

    name, module = "jpegli", "pyjpegli"
    options = frozenset({"subsampling", "optimize", *RESTART_OPTIONS})
    table_options = frozenset({"subsampling"})  # the simulator's model of the file needs its subsampling
    writes_gray = False  # jpegli encodes gray, but its quality map and simulator model are RGB's

    def available(self) -> bool:
        return jpegli.available()

    def check(self, options: dict) -> None:
        super().check(options)
        if options.get("subsampling", -1) != -1:
            subsampling_name(options["subsampling"])
        check_restart_options(options)

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        return jpegli.encode(pixels, quality, progressive=bool(options.get("optimize")), **jpegli_options(options))


@functools.cache
def quality_map() -> dict:
    """The default encoder's quality map for gray images (``weights/quality-map.json``, fitted on training images by
    the command in it): per Pillow quality 1..100, jpegli's ``base`` quality of the same mean SSIMULACRA2, and
    ``curve``, jpegli's mean SSIMULACRA2 at each of its qualities 1..100 (target mode's first guess on gray). (RGB
    images get theirs from the look predictor, :meth:`DefaultBackend.encoder_settings`.)"""
    return weights.read_json("quality-map.json")


def _metadata(options: dict) -> dict:
    """The metadata options among encoder options."""
    return {k: options[k] for k in METADATA_OPTIONS & options.keys()}


class DefaultBackend(Backend):
    """rdjpeg's default encoder: jpegli with optimized Huffman tables and progressive scans, RGB and grayscale, at the
    quality whose mean look over the training photos is that of Pillow's JPEG at the asked ``quality``
    (:meth:`encoder_settings`: RGB from :meth:`Look.quality <rdjpeg.look.Look.quality>`, at 4:2:0 unless the photo's
    predicted curve cannot reach that look; gray from the mean-look map, :func:`quality_map`): ``quality=85`` keeps
    its look on average, and the file is smaller. jpegli measured best on SSIMULACRA2 and butteraugli of everything
    tried, mozjpeg second (BENCHMARKS.md, "The default"); on gray photos too (``benchmarks/gray_encoders.py``).

    Options: metadata (``exif``, ``icc_profile``, ``dpi``, ``comment``, ``xmp``, written as Pillow writes them),
    ``optimize`` and ``progressive`` (True only: the files are optimized), ``subsampling`` ("4:2:0", "4:2:2",
    "4:4:4" or Pillow's 2, 1, 0, instead of the per-photo choice; gray images have none) and Pillow's restart
    markers (``restart_marker_blocks``, ``restart_marker_rows``, up to 65535), which make a file sequential unless
    ``progressive=True`` is given: a sequential file is what restart markers serve, and Pillow's count of them (one
    sequence per file, not per scan).
    :meth:`accepts` tells whether a set of options suits it. Its subsampling is chosen per image from the pixels it
    is given, so no learned pipeline edits in front of it (their masking needs the encoder's tables before the
    pixels are edited).
    """

    name = "default"
    options = METADATA_OPTIONS | {"optimize", "progressive", "subsampling", *RESTART_OPTIONS}

    def __init__(self) -> None:
        self.jpegli = JpegliBackend()

    def available(self) -> bool:
        return self.jpegli.available()

    def require(self) -> None:
        self.jpegli.require()

    def accepts(self, options: dict) -> bool:
        """Whether these encoder options are ones this backend honours (others need Pillow's encoder)."""
        try:
            if options.get("subsampling", -1) != -1:
                subsampling_name(options["subsampling"])
            check_restart_options(options)
        except (TypeError, ValueError):
            return False
        return options.keys() <= self.options and bool(options.get("optimize", True)) and \
            bool(options.get("progressive", True))  # fmt: skip

    def check(self, options: dict) -> None:
        super().check(options)
        check_pillow_flags(options)
        if not self.accepts(options):
            raise ValueError("the 'default' backend writes optimized files, progressive unless restart markers "
                             "(0..65535) are asked; for baseline or unoptimized files use backend='pillow' or "
                             "'mozjpeg'")  # fmt: skip
        metadata_segments(**_metadata(options))

    @staticmethod
    def progressive(options: dict) -> bool:
        """Whether the file is progressive: unless restart markers are asked without ``progressive``."""
        return "progressive" in options or not any(options.get(name) for name in RESTART_OPTIONS)

    def encoder_settings(self, pixels: np.ndarray, quality: int, subsampling: str | None = None) -> tuple[int, str]:
        """The quality and subsampling of this image's encoder for Pillow's ``quality``. RGB: :meth:`Look.settings`
        (jpegli's quality of Pillow's mean look, 4:4:4 only where this photo's 4:2:0 cannot reach it), with
        ``subsampling`` when given; gray: jpegli's quality of the same mean look (:func:`quality_map`), and "gray"."""
        if pixels.ndim == 2:
            return quality_map()["gray"]["base"][quality - 1], "gray"
        return look().settings(quality, features(pixels) if subsampling is None else None, subsampling)

    def _writer(self, pixels: np.ndarray, options: dict, subsampling: str) -> Callable[[int], bytes]:
        """The file of ``pixels`` at a quality of its encoder, with these options and (RGB) this subsampling."""
        progressive = self.progressive(options)
        if pixels.ndim == 2:  # restart markers alone: a gray file has no subsampling
            restart = {name: value for name, value in jpegli_options(options).items() if name != "subsampling"}
            return lambda q: jpegli.encode(pixels, q, progressive, optimize=True, **restart)
        settings = {**jpegli_options(options), "subsampling": subsampling}
        return lambda q: jpegli.encode(pixels, q, progressive, optimize=True, **settings)

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        quality, subsampling = self.encoder_settings(pixels, quality, jpegli_options(options).get("subsampling"))
        return add_metadata(self._writer(pixels, options, subsampling)(quality), **_metadata(options))

    def write_for_decoding(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        if pixels.ndim == 2:
            return self.write(pixels, quality, **options)
        quality, subsampling = self.encoder_settings(pixels, quality, jpegli_options(options).get("subsampling"))
        return jpegli.encode(pixels, quality, subsampling=subsampling)  # baseline: the same pixels, faster

    def write_to_target(self, pixels: np.ndarray, target: Target, **options) -> Encoded:
        """The smallest file whose score against ``pixels`` is at least ``target`` (:func:`rdjpeg.targets.search`):
        with jpegli (:meth:`_search`; gray photos have no predictor: the training photos' mean curve). An image
        under 8×8 pixels has no SSIMULACRA2: it gets the default's file at the Pillow quality whose typical look is the
        search's aim, unmeasured (``score`` None, ``reached`` False)."""
        gray = pixels.ndim == 2
        if target.metric == "ssimulacra2" and min(pixels.shape[:2]) < MIN_SIDE:
            typical = np.asarray([look().pillow_look(q) for q in range(1, 101)])
            given = jpegli_options(options).get("subsampling")
            quality, subsampling = self.encoder_settings(pixels, lowest_quality(typical, aim(target)), given)
            data = add_metadata(self._writer(pixels, options, subsampling)(quality), **_metadata(options))
            return Encoded(data, quality, None, reached=False, scorings=0)
        measure = SSIMULACRA2(pixels) if target.metric == "ssimulacra2" else functools.partial(psnr, pixels)
        found = self._search(pixels, target, lambda data: measure(decode_jpeg(data, gray)), options)
        return found._replace(data=add_metadata(found.data, **_metadata(options)))

    def _search(self, pixels: np.ndarray, target: Target, score: Callable[[bytes], float], options: dict) -> Encoded:
        """The search of :meth:`write_to_target`. For an SSIMULACRA2 target on RGB, its first quality and the shape
        of the search come from this image's predicted curve, at the subsampling predicted to reach the target in
        fewer bytes (:meth:`Look.subsampling`) unless ``subsampling`` is given; when 4:2:0 was chosen and its best
        file falls short, 4:4:4 is searched next (the encodes of both are counted), and no quality under
        :func:`~rdjpeg.targets.least_quality` is written (butteraugli's worst case, measured on RGB photos). Gray:
        :meth:`_gray_curve`. Otherwise 4:2:0 (or the ``subsampling`` given) and the measured scores alone."""
        given = jpegli_options(options).get("subsampling")
        if pixels.ndim == 2:
            return search(self._writer(pixels, options, "gray"), score, target, self._gray_curve(pixels, target))
        if target.metric != "ssimulacra2":
            return search(self._writer(pixels, options, given or "4:2:0"), score, target)
        predictor, f = look(), features(pixels)

        def curve(subsampling: str) -> np.ndarray:
            """The predicted curve; from :data:`~rdjpeg.targets.SAMPLE_FROM` pixels moved through a sample's measured
            score first (:func:`~rdjpeg.targets.calibrated`: the predictor is fitted on photos under 0.5 MP)."""
            predicted = predictor.ssimulacra2(f, subsampling)
            if pixels.shape[0] * pixels.shape[1] < SAMPLE_FROM:
                return predicted
            part = sample(pixels)
            measure = SSIMULACRA2(part)

            def score_part(q: int) -> float:
                return measure(decode_jpeg(jpegli.encode(part, q, subsampling=subsampling), False))

            return calibrated(predicted, target, score_part)

        def run(subsampling: str) -> Encoded:
            least = least_quality(predictor.ssimulacra2(None, subsampling), target, jpegli.distance)
            return search(self._writer(pixels, options, subsampling), score, target, curve(subsampling), least=least)

        subsampling = given or predictor.subsampling(f, target.value)
        if given or subsampling == "4:4:4":
            return run(subsampling)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TargetNotReached)
            first = run("4:2:0")
        if first.reached:
            return first
        found = run("4:4:4")
        return found._replace(encodes=first.encodes + found.encodes, scorings=first.scorings + found.scorings)

    @staticmethod
    def _gray_curve(pixels: np.ndarray, target: Target) -> np.ndarray | None:
        """The first guess and shape of a gray search for an SSIMULACRA2 target: jpegli's mean curve over the
        training photos (:func:`quality_map`), from :data:`~rdjpeg.targets.SAMPLE_FROM` pixels moved through a
        sample's measured score (:func:`~rdjpeg.targets.calibrated`); None (the measured scores alone) for PSNR."""
        if target.metric != "ssimulacra2":
            return None
        mean = np.asarray(quality_map()["gray"]["curve"], np.float64)
        if pixels.shape[0] * pixels.shape[1] < SAMPLE_FROM:
            return mean
        part = sample(pixels)
        measure = SSIMULACRA2(part)
        return calibrated(mean, target, lambda q: measure(decode_jpeg(jpegli.encode(part, q), True)))
