# What `cmake --install` puts beside the binary, and the Debian package CPack builds from it
# (`cpack -G DEB` in the build folder). Included by the top-level CMakeLists.txt after the
# targets, so every install() rule is known. tests/install/ checks the result.
include(GNUInstallDirs)

# The README and the bundled example cassettes: `tapedeck replay` works on them out of the box.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/examples/cassettes/hello-anthropic.jsonl
              ${PROJECT_SOURCE_DIR}/examples/cassettes/hello-openai.jsonl
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_PACKAGE_NAME tapedeck)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tapedeck maintainers <maintainers@tapedeck.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "record-and-replay HTTP proxy for deterministic tests of LLM clients")
# The long description under the summary line; CPack indents each line for the control file.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tapedeck sits where an application's LLM API base URL points. In record mode it
forwards to the real API and writes every request, response and server-sent
event, with its timing, into a compressed cassette with secrets redacted. In
replay mode it serves them back byte for byte, without a network.")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed by dpkg-shlibdeps from the libraries the binary links (Debian's libevent,
# OpenSSL, zstd, zlib, brotli and the C++ runtime), so the package installs with apt alone.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # tapedeck_0.1.0_amd64.deb
set(CPACK_STRIP_FILES ON)                # whatever the build type, the package has no debug info
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
# Only what the install() rules name; the build folder's tests and benchmarks install nothing.
set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/\\\\.git/;/node_modules/")
include(CPack)
