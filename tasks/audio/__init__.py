"""Small, pure audio functions: reading, checking, text to speech, noise, features."""
