@strict @mpp @spt
Feature: Client safety
  Newer clients refuse to pay where the credential could be misused: across
  origins, on changed terms, for another amount, or to another network.

  Background:
    Given a logged-in user with a default card

  @SAFE-01
  Scenario: A redirect while probing may be followed, and the credential goes only where a 402 came from
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:redirects/cross-origin} --spend-request-id {id}"
    Then no credential was sent to "{merchant:redirects/cross-origin}"
    And every credential went to a URL that answered 402
    And Link redeemed the shared payment token at most 1 time

  @SAFE-01
  Scenario: A cross-origin redirect on the paid retry is not followed
    Given an approved shared payment token spend request for "redirects/paid-retry-cross-origin"
    When the agent runs "mpp pay {merchant:redirects/paid-retry-cross-origin} --spend-request-id {id}"
    Then the payment is refused
    And the merchant "api" received no credential
    And Link redeemed the shared payment token 0 times

  @SAFE-01
  Scenario Outline: A redirect of the paid retry to <origin> origin is never followed with the credential
    Given an approved shared payment token spend request for "api/report"
    And the merchant "api" redirects the paid retry to <origin> origin
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then the payment is refused
    And no credential was sent to the redirect's landing
    And Link redeemed the shared payment token 0 times

    Examples:
      | origin  |
      | the same |
      | another |

  @SAFE-01 @polling
  Scenario Outline: A redirect of the re-probe after approval to <origin> origin is never followed with the credential
    Given the merchant "api" redirects the re-probe after approval to <origin> origin
    And the user will approve the next spend request
    When the agent runs "mpp pay {merchant:api/report} --context {context}"
    Then the payment is refused
    And no credential was sent to the redirect's landing
    And Link redeemed the shared payment token 0 times

    Examples:
      | origin   |
      | the same |
      | another  |

  @SAFE-02 @polling
  Scenario Outline: A refreshed challenge whose <field> changed after approval is refused
    Given the user will approve the next spend request
    When the agent runs "mpp pay {merchant:changing-terms/report?change=<field>} --context {context}"
    Then the payment is refused
    And Link redeemed the shared payment token 0 times
    And the merchant "changing-terms" received no credential

    Examples:
      | field                |
      | amount               |
      | currency             |
      | network_id           |
      | intent               |
      | realm                |
      | payment_method_types |
      | digest               |
      | opaque               |
      | header               |

  @SAFE-02 @polling
  Scenario Outline: A refreshed challenge with <what> is still paid
    Given the user will approve the next spend request
    When the agent runs "mpp pay {merchant:changing-terms/report?change=<what>} --context {context}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "changing-terms" was paid 1 time

    Examples:
      | what      |
      | benign    |
      | key_order |

  @SAFE-03
  Scenario: An amount flag that differs from the challenge is refused before anything is created
    When the agent runs "mpp pay {merchant:api/report} --amount 100 --context {context}"
    Then it fails with an error
    And no spend request was created at Link
    And no merchant received a credential

  @SAFE-04
  Scenario: A caller's Authorization header is replaced by the credential
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id} --header 'Authorization: Bearer app-token'"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "api" was paid 1 time

  @SAFE-04
  Scenario: A challenge naming Payment-Authorization gets the credential there
    Given an approved shared payment token spend request for "credential-header/report"
    When the agent runs "mpp pay {merchant:credential-header/report} --spend-request-id {id} --header 'Authorization: Bearer app-token'"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "credential-header" was paid 1 time
    And the merchant "credential-header" received every credential in "Payment-Authorization"

  @SAFE-04
  Scenario: A challenge naming a header outside the allow-list is refused and no credential is sent
    Given an approved shared payment token spend request for "unsupported-header/report"
    When the agent runs "mpp pay {merchant:unsupported-header/report} --spend-request-id {id}"
    Then the payment is refused
    And no merchant received a credential
    And Link redeemed the shared payment token 0 times

  @SAFE-05
  Scenario: A token is never sent to a merchant naming another network
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:other-network/report} --spend-request-id {id}"
    Then it fails with an error
    And the merchant "other-network" received no credential
    And Link redeemed the shared payment token 0 times
