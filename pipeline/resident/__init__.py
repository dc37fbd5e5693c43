"""The resident `kisi`: a background process that has imported and loaded the program once
and serves each later `kisi` command in a fork of itself (`kisi server start`).

A command's own start-up (the interpreter, ≈ 120 ms of imports, the specs) is most of a
warm report run that finds one new file. The `kisi` console script first asks a running
server (`client.delegate`); the server forks, the fork takes over the command's terminal
(its standard streams are passed over the socket), working folder, environment and umask,
and runs the command exactly as `kisi` would, in a process group of its own; the server
answers the `kisi` with its exit status (or the signal it died of). Without a server,
or when it refuses (another program version), the command runs in its own process as
always. Nothing of one run survives into the next: each runs in a fresh fork.

Modules here are imported by every `kisi` start: keep them small (`client` and `wire`
import nothing heavy; `server` is only imported by the server itself).
"""
