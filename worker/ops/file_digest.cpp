// file_digest.cpp — streams the file through Poco's SHA-256.
#include "ops/file_digest.hpp"

#include <Poco/DigestStream.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>

#include <fstream>

namespace predictd {

std::string sha256OfFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "";
    }
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    Poco::DigestOutputStream out(engine);
    Poco::StreamCopier::copyStream(in, out);
    out.close();
    return Poco::DigestEngine::digestToHex(engine.digest());
}

}  // namespace predictd
