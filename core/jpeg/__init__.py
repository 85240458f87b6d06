"""The codec and its differentiable twin: IJG tables (:mod:`.tables`), the bit-exact simulator of libjpeg-turbo
(:mod:`.simulator`) and the real encoder backends (:mod:`.backends`)."""
