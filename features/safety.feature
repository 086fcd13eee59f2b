@strict @mpp @spt
Feature: Client safety
  Newer clients refuse to pay where the credential could be misused: across
  origins, on changed terms, for another amount, or to another network.

  Background:
    Given a logged-in user with a default card

  @SAFE-01
  Scenario: A cross-origin redirect before the 402 is not followed with a credential
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:redirects/cross-origin} --spend-request-id {id}"
    Then the payment is refused
    And no merchant received a credential
    And Link redeemed the shared payment token 0 times

  @SAFE-01
  Scenario: A cross-origin redirect on the paid retry is not followed
    Given an approved shared payment token spend request for "redirects/paid-retry-cross-origin"
    When the agent runs "mpp pay {merchant:redirects/paid-retry-cross-origin} --spend-request-id {id}"
    Then the payment is refused
    And the merchant "api" received no credential
    And Link redeemed the shared payment token 0 times

  @SAFE-02 @polling
  Scenario: A challenge whose amount changed after approval is refused
    Given the user will approve the next spend request
    When the agent runs "mpp pay {merchant:changing-terms/report?change=amount} --context {context}"
    Then it fails with an error
    And Link redeemed the shared payment token 0 times
    And the merchant "changing-terms" received no credential

  @SAFE-02 @polling
  Scenario: A challenge whose description only changed is still paid
    Given the user will approve the next spend request
    When the agent runs "mpp pay {merchant:changing-terms/report?change=description} --context {context}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "changing-terms" was paid 1 time

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
  Scenario: A challenge naming another credential header is honoured
    Given an approved shared payment token spend request for "credential-header/report"
    When the agent runs "mpp pay {merchant:credential-header/report} --spend-request-id {id} --header 'Authorization: Bearer app-token'"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "credential-header" was paid 1 time

  @SAFE-05
  Scenario: A token is never sent to a merchant naming another network
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:other-network/report} --spend-request-id {id}"
    Then it fails with an error
    And the merchant "other-network" received no credential
    And Link redeemed the shared payment token 0 times
