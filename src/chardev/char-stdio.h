// "chardev-stdio": the emulator's own stdin/stdout. When stdin is a terminal it is put in raw mode
// (keeping Ctrl-C as a signal unless signal=off) and restored at exit and on fatal signals.
#pragma once

namespace machina {

// Puts the terminal back as it was before stdio was opened (idempotent, async-signal-safe).
void stdio_restore_terminal();

}  // namespace machina
