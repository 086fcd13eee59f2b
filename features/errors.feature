@errors
Feature: Errors and robustness
  Every error is one JSON object with a code and a message on stdout and
  exit 1; failures of Link or hostile merchants never crash the client.

  @ERR-01
  Scenario: An unknown spend request is a JSON error on stdout
    Given a logged-in user with a default card
    When the agent runs "spend-request retrieve lsrq_does_not_exist"
    Then it fails with "NOT_FOUND"

  @ERR-02
  Scenario Outline: Link fails with <fault>: a JSON error, no crash, no secret
    Given a logged-in user with a default card
    And Link will answer the next call to "/payment-details" with "<fault>"
    When the agent runs "payment-methods list"
    Then it fails with an error
    And the output reveals no secret

    Examples:
      | fault                |
      | a 500 error          |
      | a 503 error          |
      | a dropped connection |
      | a non-JSON body      |
      | a 10 second delay    |

  @ERR-03 @mpp @spt
  Scenario Outline: Terminal control characters from a merchant are sanitized: <path>
    Given a logged-in user with a default card
    And an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:<path>} --spend-request-id {id}"
    Then the output contains no terminal control characters

    Examples:
      | path                       |
      | hostile/control-chars      |
      | hostile/control-chars-ok   |

  @ERR-04 @spend
  Scenario Outline: Bad flags fail before any request: <flags>
    Given a logged-in user with a default card
    When the agent runs "spend-request create --merchant-name 'Example Times' --merchant-url https://times.example --context {context} <flags>"
    Then it fails with an error
    And no request reached Link

    Examples:
      | flags                                          |
      | --credential-type bogus --amount 1500          |
      | --credential-type card --amount -5             |
      | --credential-type card --amount abc            |
