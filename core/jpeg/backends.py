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

import numpy as np
from PIL import Image, ImageFile

from .. import weights
from ..images import decode_jpeg
from ..look import features, look, lowest_quality, nearest_quality
from ..pillow_options import check_metadata_types, check_pillow_flags
from ..scores import MIN_SIDE, SSIMULACRA2, psnr
from ..targets import SAMPLE_FROM, Encoded, Target, aim, calibrated, sample, search
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
    tables"); ``exif`` and ``icc_profile`` bytes. ``optimize`` may only be True: trellis quantization needs optimized
    Huffman tables.
    """

    name, module = "mozjpeg", "pyvips"
    options = frozenset({"subsampling", "optimize", "progressive", "table", "exif", "icc_profile"})
    table_options = frozenset({"table"})

    def check(self, options: dict) -> None:
        super().check(options)
        if subsampling_name(options.get("subsampling", "4:2:0")) == "4:2:2":
            raise ValueError("the 'mozjpeg' backend writes 4:2:0 (cjpeg's default) or 4:4:4, not 4:2:2")
        if options.get("optimize") is False:
            raise ValueError("the 'mozjpeg' backend always writes optimized Huffman tables (trellis needs them)")
        mozjpeg_table(options.get("table", "imagemagick"))

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
        )  # fmt: skip
        return data if data[2:4] == b"\xff\xe0" else data[:2] + _JFIF_APP0 + data[2:]


class JpegliBackend(Backend):
    """jpegli (:mod:`rdjpeg.jpeg.jpegli`, the library that ``pyjpegli`` ships), RGB only here, its own tables and 4:2:0.

    ``optimize=True``: optimized Huffman tables and jpegli's progressive scans, written by jpegli in the same pass
    (the pixels are those of the plain file); otherwise baseline with the standard tables, as ``pyjpegli.encode``.
    """

    name, module = "jpegli", "pyjpegli"
    options = frozenset({"subsampling", "optimize"})
    writes_gray = False  # jpegli encodes gray, but its quality map and simulator model are RGB's

    def available(self) -> bool:
        return jpegli.available()

    def check(self, options: dict) -> None:
        super().check(options)
        if "subsampling" in options and subsampling_name(options["subsampling"]) != "4:2:0":
            raise ValueError("the 'jpegli' backend chooses its own subsampling (4:2:0); it cannot be set")

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        return jpegli.encode(pixels, quality, progressive=bool(options.get("optimize")))


@functools.cache
def quality_map() -> dict:
    """The default encoder's quality map for gray images (``weights/quality-map.json``, fitted on training images by
    the command in it): per Pillow quality 1..100, mozjpeg's ``base`` quality of the same mean SSIMULACRA2. (RGB
    images get theirs from the look predictor, :meth:`DefaultBackend.encoder_quality`.)"""
    return weights.read_json("quality-map.json")


def _metadata(options: dict) -> dict:
    """The metadata options among encoder options."""
    return {k: options[k] for k in METADATA_OPTIONS & options.keys()}


class DefaultBackend(Backend):
    """rdjpeg's default encoder: jpegli with optimized Huffman tables and progressive scans for RGB, mozjpeg 5 for
    grayscale, at the quality that gives this image the look Pillow's JPEG at the asked ``quality`` gives a typical
    photo (:meth:`encoder_quality`: RGB from the look predictor, :mod:`rdjpeg.look`; gray from the mean-look map,
    :func:`quality_map`): ``quality=85`` keeps its look, and the file is smaller. jpegli measured best on
    SSIMULACRA2 and butteraugli of everything tried, mozjpeg second (BENCHMARKS.md, "The default").

    Options: metadata (``exif``, ``icc_profile``, ``dpi``, ``comment``, ``xmp``, written as Pillow writes them),
    ``optimize`` and ``progressive`` (True only: the files are optimized and progressive) and ``subsampling``
    ("4:2:0" only: jpegli's choice). :meth:`accepts` tells whether a set of options suits it. Its quality is chosen
    per image from the pixels it is given, so no learned pipeline edits in front of it (their masking needs the
    encoder's tables before the pixels are edited).
    """

    name = "default"
    options = METADATA_OPTIONS | {"optimize", "progressive", "subsampling"}

    def __init__(self) -> None:
        self.jpegli, self.mozjpeg = JpegliBackend(), MozJPEGBackend()

    def available(self) -> bool:
        return self.jpegli.available() and self.mozjpeg.available()

    def require(self) -> None:
        self.jpegli.require()
        self.mozjpeg.require()

    def accepts(self, options: dict) -> bool:
        """Whether these encoder options are ones this backend honours (others need Pillow's encoder)."""
        return (
            options.keys() <= self.options
            and bool(options.get("optimize", True))
            and bool(options.get("progressive", True))
            and options.get("subsampling", -1) in (-1, 2, "4:2:0")
        )

    def check(self, options: dict) -> None:
        super().check(options)
        check_pillow_flags(options)
        if not self.accepts(options):
            raise ValueError("the 'default' backend writes optimized progressive 4:2:0 files; for other subsampling, "
                             "baseline or unoptimized files use backend='pillow' or 'mozjpeg'")  # fmt: skip
        metadata_segments(**_metadata(options))

    def encoder_quality(self, pixels: np.ndarray, quality: int) -> int:
        """The quality of this image's encoder for Pillow's ``quality``. RGB: the jpegli quality whose predicted
        SSIMULACRA2 for this image (:mod:`rdjpeg.look`) is nearest the look ``quality`` aims it at (:meth:`Look.aim`:
        near what Pillow's JPEG at ``quality`` gives a typical photo, so that every photo looks much alike); gray:
        mozjpeg's quality of the same mean look (:func:`quality_map`)."""
        if pixels.ndim == 2:
            return quality_map()["gray"]["base"][quality - 1]
        predictor, f = look(), features(pixels)
        return nearest_quality(predictor.ssimulacra2(f), predictor.aim(f, quality))

    def write(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        encoder = self.mozjpeg if pixels.ndim == 2 else self.jpegli
        data = encoder.write(pixels, self.encoder_quality(pixels, quality), optimize=True)
        return add_metadata(data, **_metadata(options))

    def write_for_decoding(self, pixels: np.ndarray, quality: int, **options) -> bytes:
        if pixels.ndim == 2:
            return self.write(pixels, quality)
        return jpegli.encode(pixels, self.encoder_quality(pixels, quality))  # baseline: the same pixels, faster

    def write_to_target(self, pixels: np.ndarray, target: Target, **options) -> Encoded:
        """The smallest file whose score against ``pixels`` is at least ``target`` (:func:`rdjpeg.targets.search`):
        RGB with jpegli, its first quality and the shape of the search from this image's predicted SSIMULACRA2
        curve (from :data:`~rdjpeg.targets.SAMPLE_FROM` pixels, moved through a sample's measured score first:
        :func:`~rdjpeg.targets.calibrated`); gray with mozjpeg (no predictor: the measured scores alone). An image
        under 8×8 pixels has no SSIMULACRA2: it gets the default's file at the Pillow quality whose typical look is the
        search's aim, unmeasured (``score`` None, ``reached`` False)."""
        gray = pixels.ndim == 2
        encoder = self.mozjpeg if gray else self.jpegli
        if target.metric == "ssimulacra2" and min(pixels.shape[:2]) < MIN_SIDE:
            typical = [look().pillow_look(q) for q in range(1, 101)]
            quality = self.encoder_quality(pixels, lowest_quality(np.asarray(typical), aim(target)))
            data = add_metadata(encoder.write(pixels, quality, optimize=True), **_metadata(options))
            return Encoded(data, quality, None, reached=False, scorings=0)
        curve = look().ssimulacra2(features(pixels)) if not gray and target.metric == "ssimulacra2" else None
        if curve is not None and pixels.shape[0] * pixels.shape[1] >= SAMPLE_FROM:
            part = sample(pixels)
            curve = calibrated(curve, target, lambda q: SSIMULACRA2(part)(decode_jpeg(encoder.write(part, q), gray)))
        measure = SSIMULACRA2(pixels) if target.metric == "ssimulacra2" else functools.partial(psnr, pixels)
        found = search(lambda q: encoder.write(pixels, q, optimize=True),
                       lambda data: measure(decode_jpeg(data, gray)), target, curve)  # fmt: skip
        return found._replace(data=add_metadata(found.data, **_metadata(options)))
