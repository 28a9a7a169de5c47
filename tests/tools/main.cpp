// Catch2 entry point of the tools tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
