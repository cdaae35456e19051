// private_memory.hpp — how much memory this process holds that no other process shares: the
// figure server.max_worker_memory recycles a worker on.
//
// Resident pages shared with the supervisor and the other workers (code, the preloaded models)
// are left out: a fresh worker would share them too, so recycling gives back only the private
// part (the inference arena, the heap's fragmentation). Read from /proc/self/smaps_rollup
// (Private_Clean + Private_Dirty); hand-written because neither Poco nor the C++ library reads
// per-process memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace predictd {

// Private bytes from the text of a smaps_rollup file; nullopt when it has neither field.
std::optional<std::uint64_t> parsePrivateBytes(std::string_view smaps_rollup);

// This process's private resident bytes; nullopt when /proc cannot be read.
std::optional<std::uint64_t> privateMemoryBytes();

}  // namespace predictd
