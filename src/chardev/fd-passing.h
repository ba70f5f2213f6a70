// Sending and receiving file descriptors over UNIX sockets (SCM_RIGHTS), as QMP's getfd and
// add-fd use them.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <vector>

namespace machina {

inline constexpr size_t kMaxPassedFds = 16;  // per message, as QEMU

// Reads up to len bytes; descriptors that came with them are appended to *fds (close-on-exec).
// Returns what recvmsg returns (-1 with errno on error, 0 at end of file). If the sender passed
// more than kMaxPassedFds descriptors the extra ones are closed.
ssize_t recv_with_fds(int sock, void* buf, size_t len, std::vector<int>* fds);
// Sends len bytes (at least 1) with the descriptors attached. Never raises SIGPIPE.
ssize_t send_with_fds(int sock, const void* buf, size_t len, const std::vector<int>& fds);

}  // namespace machina
