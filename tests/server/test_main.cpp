// Catch2 main for the server tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
