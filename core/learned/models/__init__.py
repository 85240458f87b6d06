"""What rdjpeg learns and estimates: the rate network R̂ (:mod:`.rate`), the RD slope λ(x) (:mod:`.lagrangian`),
adaptive DCT-domain masking (:mod:`.masking`) and the prefilter network (:mod:`.prefilter`)."""
