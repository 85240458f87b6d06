"""jpegli's encoder through its libjpeg-style C API, for what ``pyjpegli.encode`` does not offer: progressive scans
with optimized Huffman tables written by jpegli itself (no second, lossless pass), grayscale input, chroma
subsampling (4:4:4, 4:2:2, 4:2:0) and restart markers.

``pyjpegli`` (pinned in ``pyproject.toml``) links jpegli statically and exports its C API (``jpegli_*``); this module
calls it with :mod:`ctypes` on the ``jpeg_compress_struct`` of libjpeg's ABI 6.2, the one jpegli is built for (jpegli
checks the struct's size when it starts). With the same quality the coefficients, and so the decoded pixels, are
exactly those of ``pyjpegli.encode``; only the entropy coding differs. jpegli's own progressive script (level 2)
with optimized Huffman tables is 0.5 % smaller to 0.3 % larger than mozjpeg's lossless pass over pyjpegli's file, in a
fifth of the time (BENCHMARKS.md, "The default", "The lossless pass, replaced").

The library releases the GIL while it encodes (ctypes does for every foreign call). Its inputs are checked here,
because jpegli ends the process on an error (its ``error_exit``) and ctypes cannot unwind from a callback; what is
left is running out of memory inside jpegli.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import importlib.util

import numpy as np

from .tables import SUBSAMPLINGS

SUPPORTED_PYJPEGLI = ("0.3.2",)  # the builds whose exported API and struct layout this module was checked against
PROGRESSIVE_LEVEL = 2  # jpegli's richest scan script (cjpegli's default): DC, AC 1-2, AC 3-63 in three refinements
_JCS_GRAYSCALE, _JCS_RGB = 1, 2
_P = ctypes.c_void_p
_INT = ctypes.c_int
_UINT = ctypes.c_uint


class _CompressStruct(ctypes.Structure):
    """``struct jpeg_compress_struct`` for JPEG_LIB_VERSION 62 (jpeglib.h), x86-64 and arm64 layouts alike."""

    _fields_ = [
        ("err", _P), ("mem", _P), ("progress", _P), ("client_data", _P), ("is_decompressor", _INT),
        ("global_state", _INT), ("dest", _P), ("image_width", _UINT), ("image_height", _UINT),
        ("input_components", _INT), ("in_color_space", _INT), ("input_gamma", ctypes.c_double),
        ("data_precision", _INT), ("num_components", _INT), ("jpeg_color_space", _INT), ("comp_info", _P),
        ("quant_tbl_ptrs", _P * 4), ("dc_huff_tbl_ptrs", _P * 4), ("ac_huff_tbl_ptrs", _P * 4),
        ("arith_dc_L", ctypes.c_uint8 * 16), ("arith_dc_U", ctypes.c_uint8 * 16), ("arith_ac_K", ctypes.c_uint8 * 16),
        ("num_scans", _INT), ("scan_info", _P), ("raw_data_in", _INT), ("arith_code", _INT),
        ("optimize_coding", _INT), ("CCIR601_sampling", _INT), ("smoothing_factor", _INT), ("dct_method", _INT),
        ("restart_interval", _UINT), ("restart_in_rows", _INT), ("write_JFIF_header", _INT),
        ("JFIF_major_version", ctypes.c_uint8), ("JFIF_minor_version", ctypes.c_uint8),
        ("density_unit", ctypes.c_uint8), ("X_density", ctypes.c_uint16), ("Y_density", ctypes.c_uint16),
        ("write_Adobe_marker", _INT), ("next_scanline", _UINT), ("progressive_mode", _INT),
        ("max_h_samp_factor", _INT), ("max_v_samp_factor", _INT), ("total_iMCU_rows", _UINT),
        ("comps_in_scan", _INT), ("cur_comp_info", _P * 4), ("MCUs_per_row", _UINT), ("MCU_rows_in_scan", _UINT),
        ("blocks_in_MCU", _INT), ("MCU_membership", _INT * 10), ("Ss", _INT), ("Se", _INT), ("Ah", _INT),
        ("Al", _INT), ("master", _P), ("main", _P), ("prep", _P), ("coef", _P), ("marker", _P), ("cconvert", _P),
        ("downsample", _P), ("fdct", _P), ("entropy", _P), ("script_space", _P), ("script_space_size", _INT),
    ]  # fmt: skip


class _ComponentInfo(ctypes.Structure):
    """``jpeg_component_info`` for JPEG_LIB_VERSION 62 (one ``DCT_scaled_size``), 96 bytes on 64-bit systems: the
    stride of ``comp_info``, whose sampling factors are set after ``jpegli_set_defaults``."""

    _fields_ = [
        ("component_id", _INT), ("component_index", _INT), ("h_samp_factor", _INT), ("v_samp_factor", _INT),
        ("quant_tbl_no", _INT), ("dc_tbl_no", _INT), ("ac_tbl_no", _INT), ("width_in_blocks", _UINT),
        ("height_in_blocks", _UINT), ("DCT_scaled_size", _INT), ("downsampled_width", _UINT),
        ("downsampled_height", _UINT), ("component_needed", _INT), ("MCU_width", _INT), ("MCU_height", _INT),
        ("MCU_blocks", _INT), ("MCU_sample_width", _INT), ("last_col_width", _INT), ("last_row_height", _INT),
        ("quant_table", _P), ("dct_table", _P),
    ]  # fmt: skip


MAX_RESTART_INTERVAL = 65535  # a DRI segment holds 16 bits; libjpeg caps restart_in_rows' interval there too
_ERROR_MANAGER_BYTES = 256  # sizeof(struct jpeg_error_mgr) is 168 on 64-bit systems; jpegli_std_error fills it


@functools.cache
def _library():
    """pyjpegli's extension module, loaded as a C library (found without importing it), its functions typed."""
    spec = importlib.util.find_spec("pyjpegli")
    if spec is None or spec.origin is None:
        raise ImportError("the jpegli encoder needs pyjpegli: pip install 'pyjpegli==0.3.2'")
    version = importlib.metadata.version("pyjpegli")
    if version not in SUPPORTED_PYJPEGLI:
        raise ImportError(f"rdjpeg's jpegli encoder was checked against pyjpegli {', '.join(SUPPORTED_PYJPEGLI)}; "
                          f"this environment has {version}: pip install 'pyjpegli==0.3.2'")  # fmt: skip
    lib = ctypes.CDLL(spec.origin)
    cinfo = ctypes.POINTER(_CompressStruct)
    signatures = {
        "jpegli_std_error": ([_P], _P),
        "jpegli_CreateCompress": ([cinfo, _INT, ctypes.c_size_t], None),
        "jpegli_mem_dest": ([cinfo, ctypes.POINTER(_P), ctypes.POINTER(ctypes.c_ulong)], None),
        "jpegli_set_defaults": ([cinfo], None),
        "jpegli_set_quality": ([cinfo, _INT, _INT], None),
        "jpegli_set_progressive_level": ([cinfo, _INT], None),
        "jpegli_start_compress": ([cinfo, _INT], None),
        "jpegli_write_scanlines": ([cinfo, _P, _UINT], _UINT),
        "jpegli_finish_compress": ([cinfo], None),
        "jpegli_destroy_compress": ([cinfo], None),
        "jpegli_quality_to_distance": ([_INT], ctypes.c_float),
    }
    for name, (arguments, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = arguments, result
    libc = ctypes.CDLL(None)
    libc.free.argtypes, libc.free.restype = [_P], None
    return lib, libc.free


def available() -> bool:
    """Whether the jpegli encoder can be loaded here."""
    try:
        _library()
    except (ImportError, OSError, AttributeError):
        return False
    return True


def distance(quality: int) -> float:
    """jpegli's butteraugli distance for ``quality`` 1..100 (its ``jpegli_quality_to_distance``: the distance its
    quantization is set for).

    Example:
        >>> distance(90), distance(100)
        (1.0, 0.01)
    """
    return round(float(_library()[0].jpegli_quality_to_distance(quality)), 6)


def encode(pixels: np.ndarray, quality: int, progressive: bool = False, *, optimize: bool = False,
           subsampling: str = "4:2:0", restart_blocks: int = 0, restart_rows: int = 0) -> bytes:  # fmt: skip
    """jpegli's JPEG of uint8 pixels, (H, W, 3) RGB or (H, W) gray, sides of 1 to
    :data:`~rdjpeg.jpeg.tables.MAX_SIDE`, at ``quality`` 1..100 (jpegli's quality scale, adaptive quantization on).
    ``progressive``: jpegli's progressive scans with optimized Huffman tables; otherwise one sequential scan, with
    optimized tables when ``optimize``, else the standard ones (byte for byte ``pyjpegli.encode``'s file at 4:2:0).
    ``subsampling`` (RGB): "4:2:0", "4:2:2" or "4:4:4". Restart markers as libjpeg's (Pillow's
    ``restart_marker_blocks`` and ``restart_marker_rows``): every ``restart_blocks`` MCUs, or every ``restart_rows``
    MCU rows (which wins when both are given), 0 for none, at most :data:`MAX_RESTART_INTERVAL`.

    Example:
        >>> data = encode(np.full((16, 24, 3), 128, np.uint8), 80, progressive=True)
        >>> data[:2], b"\\xff\\xc2" in data  # SOI; a progressive frame
        (b'\\xff\\xd8', True)
    """
    if subsampling not in SUBSAMPLINGS:
        raise ValueError(f"subsampling must be one of {list(SUBSAMPLINGS)}, got {subsampling!r}")
    horizontal, vertical = SUBSAMPLINGS[subsampling]
    for name, value in (("restart_blocks", restart_blocks), ("restart_rows", restart_rows)):
        if not 0 <= value <= MAX_RESTART_INTERVAL:
            raise ValueError(f"{name} must lie in 0..{MAX_RESTART_INTERVAL}, got {value}")
    lib, free = _library()
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else 3
    error_manager = ctypes.create_string_buffer(_ERROR_MANAGER_BYTES)
    cinfo = _CompressStruct()
    cinfo.err = lib.jpegli_std_error(error_manager)
    lib.jpegli_CreateCompress(cinfo, 62, ctypes.sizeof(_CompressStruct))
    out, size = _P(), ctypes.c_ulong(0)
    try:
        lib.jpegli_mem_dest(cinfo, ctypes.byref(out), ctypes.byref(size))
        cinfo.image_width, cinfo.image_height, cinfo.input_components = width, height, channels
        cinfo.in_color_space = _JCS_GRAYSCALE if channels == 1 else _JCS_RGB
        lib.jpegli_set_defaults(cinfo)
        lib.jpegli_set_quality(cinfo, quality, 1)
        if channels == 3:
            luma = ctypes.cast(cinfo.comp_info, ctypes.POINTER(_ComponentInfo))[0]
            luma.h_samp_factor, luma.v_samp_factor = horizontal, vertical  # chroma stays at 1×1
        cinfo.restart_interval, cinfo.restart_in_rows = restart_blocks, restart_rows
        if progressive:
            lib.jpegli_set_progressive_level(cinfo, PROGRESSIVE_LEVEL)
        if progressive or optimize:
            cinfo.optimize_coding = 1
        lib.jpegli_start_compress(cinfo, 1)
        rows = np.arange(height, dtype=np.uintp) * (width * channels) + pixels.ctypes.data
        while cinfo.next_scanline < height:
            start = cinfo.next_scanline
            lib.jpegli_write_scanlines(cinfo, rows[start:].ctypes.data, height - start)
        lib.jpegli_finish_compress(cinfo)
        return ctypes.string_at(out, size.value)
    finally:
        lib.jpegli_destroy_compress(cinfo)
        free(out)
