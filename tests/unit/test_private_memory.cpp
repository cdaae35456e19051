// test_private_memory.cpp — the private-memory figure server.max_worker_memory recycles on:
// parsed from smaps_rollup text, and read from this very process (it must follow a real
// allocation and leave out memory shared with a forked child).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "process/private_memory.hpp"

namespace predictd {
namespace {

TEST(PrivateMemory, ParsesCleanPlusDirtyFromSmapsRollup) {
    const char* text =
        "55eae631a000-7fffbb284000 ---p 00000000 00:00 0                          [rollup]\n"
        "Rss:                1616 kB\n"
        "Shared_Clean:       1456 kB\n"
        "Private_Clean:        48 kB\n"
        "Private_Dirty:       112 kB\n"
        "Private_Hugetlb:       7 kB\n"
        "Swap:                  0 kB\n";
    EXPECT_EQ(parsePrivateBytes(text), std::optional<std::uint64_t>((48 + 112) * 1024));
    EXPECT_EQ(parsePrivateBytes("Private_Dirty:  3 kB"), std::optional<std::uint64_t>(3 * 1024));
    EXPECT_EQ(parsePrivateBytes(""), std::nullopt);
    EXPECT_EQ(parsePrivateBytes("Rss: 12 kB\nPrivate_Dirtyish: 4 kB\n"), std::nullopt);
    EXPECT_EQ(parsePrivateBytes("Private_Dirty: lots\n"), std::nullopt);
}

TEST(PrivateMemory, FollowsAnAllocationAndLeavesOutPagesSharedWithAChild) {
    const std::optional<std::uint64_t> before = privateMemoryBytes();
    ASSERT_TRUE(before.has_value());
    constexpr std::size_t kBytes = 64u << 20;
    void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    std::memset(p, 1, kBytes);  // touched: resident and private
    const std::uint64_t grown = privateMemoryBytes().value_or(0);
    // At least three quarters of it: the rest of the process may give memory back meanwhile
    // (under ASan, its allocator's quarantine: 69 -> 127 MB was seen for these 64 MiB).
    EXPECT_GE(grown, *before + kBytes * 3 / 4) << *before << " -> " << grown;

    // After fork the 64 MiB are shared (copy-on-write) until written: the child's private
    // figure must not include them, as a fresh worker's must not include the preloaded model.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::uint64_t mine = privateMemoryBytes().value_or(~0ull);
        [[maybe_unused]] ssize_t n = ::write(fds[1], &mine, sizeof(mine));
        ::_exit(0);
    }
    std::uint64_t in_child = 0;
    ASSERT_EQ(::read(fds[0], &in_child, sizeof(in_child)), static_cast<ssize_t>(sizeof(in_child)));
    ::waitpid(child, nullptr, 0);
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_LT(in_child, kBytes / 2) << "the child counted pages it shares with its parent";
    ::munmap(p, kBytes);
}

}  // namespace
}  // namespace predictd
