"""The real encoders: JPEG's tables and limits (:mod:`.tables`), metadata segments (:mod:`.markers`), jpegli through
its C API (:mod:`.jpegli`) and the encoder backends (:mod:`.backends`)."""
