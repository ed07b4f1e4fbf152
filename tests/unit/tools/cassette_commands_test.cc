// Tests for `tapedeck cassette ...` land once the codec is in.
