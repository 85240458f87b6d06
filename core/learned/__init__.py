"""The paper's learned stack (TCSVT 2025, "Rate-Distortion-Optimized Deep Preprocessing for JPEG Compression"): the
bit-exact differentiable simulator of libjpeg-turbo (:mod:`.simulator`), the rate network R̂, λ(x), adaptive
DCT-domain masking and the prefilter networks (:mod:`.models`), the torch metrics (:mod:`.metrics`), the edits a
``metric=`` pipeline makes before the encoder (:mod:`.edits`), their training (:mod:`.train`) and real-codec
evaluation (:mod:`.evaluate`, :mod:`.report`, :mod:`.crops`).

It needs the ``learned`` extra (torch, kornia, …): ``pip install 'rdjpeg[learned]'``. The default encoder, targets
and every host door work without it.
"""

from ..extras import require

require("learned", "rdjpeg's learned stack (metric=, prefilter=, the simulator, training, evaluation)")
